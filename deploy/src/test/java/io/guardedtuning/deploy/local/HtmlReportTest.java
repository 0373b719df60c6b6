package io.guardedtuning.deploy.local;

import io.guardedtuning.testing.HeadlessChromium;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The report page from hand-made run reports: what a reader must find in it, and that a browser draws it. */
class HtmlReportTest {

    private static final String LONG_ID = "online-k2-a0p125-b8-arc_a_rather_long_task_file_name_that_goes_on-seed2";

    private static RunReport run(String id, String design, double accuracy, Double leakage,
                                 Map<String, List<double[]>> series, RunReport.Offline offline) {
        RunReport.Run run = new RunReport.Run(id, design, Map.of("design", design), "gt-tiny-opt", "task", 2, "test",
                "2 cores", "2026-11-29T00:00:00Z", 1, "done", null, null);
        Map<String, RunReport.AttackScore> attacks = leakage == null ? Map.of()
                : Map.of("sip", new RunReport.AttackScore(leakage, leakage, 0.1, 1, null));
        return new RunReport(run, new RunReport.Utility(0.5, accuracy, 0.5, accuracy, 0.7, accuracy - 0.7, 100),
                new RunReport.Privacy(attacks, leakage, leakage == null ? 0 : 1, leakage == null ? null : 0.1,
                        leakage == null ? null : "sip", leakage == null ? null : 0L, null),
                new RunReport.Cost(30, 1000, 1000, 30_000, 30_000, 5_000, 0, 0), offline,
                new RunReport.Series(List.of(2.0, 1.5, 1.2), series));
    }

    private static int count(String text, String part) {
        return text.split(java.util.regex.Pattern.quote(part), -1).length - 1;
    }

    @Test
    void longIdsOnePointSeriesOfflineAndSeedsAreAllShown(@TempDir Path dir) throws Exception {
        List<RunReport> runs = List.of(
                run(LONG_ID, "online", 0.62, 0.4, Map.of("sip", List.of(new double[] {5, 0.4})), null),
                run(LONG_ID.replace("seed2", "seed3"), "online", 0.68, 0.5,
                        Map.of("sip", List.of(new double[] {5, 0.5}, new double[] {10, 0.3})), null),
                run("offline-k2-shalf-task", "offline", 0.66, null, Map.of(),
                        new RunReport.Offline(0.66, 0.64, 0.02, 9_000_000, 0.5)));
        String html = HtmlReport.render("test", runs);

        assertTrue(html.contains(">" + LONG_ID + " sip</text>"), "the legend names the whole series");
        assertTrue(html.contains("class=\"marker\""), "points are marked, so a one-point series shows");
        assertTrue(html.contains("n/a: nothing crosses"), "Offline has no per-step traffic to attack");
        assertTrue(html.contains("offline-k2-shalf-task (nothing crosses)"), "Offline is on the trade-off plot");
        assertTrue(html.contains("emulator gap 0.020"), "the emulator gap is named in the run's details");
        assertTrue(html.contains("id=\"seeds\""), "runs that differ by seed are summarised");
        assertTrue(html.contains("0.650 &plusmn; 0.042"), "mean and sample sd of 0.62 and 0.68");

        if (HeadlessChromium.installed()) {
            Path page = dir.resolve("report.html");
            Files.writeString(page, html);
            String dom = HeadlessChromium.dumpDom(page.toString());
            assertEquals(5, count(dom, "class=\"legend\""), "legend rows: 3 loss curves and 2 leakage series");
            assertEquals(12, count(dom, "class=\"marker\""), "markers: 3 × 3 loss points and 1 + 2 leakage points");
        }
    }
}
