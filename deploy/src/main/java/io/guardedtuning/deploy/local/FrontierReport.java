package io.guardedtuning.deploy.local;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * frontier.html: the frontier plot (leakage against the utility gap to centralized tuning) and every cell. Cells
 * that other attackers than the latest sweep's measured are greyed and never shown as meeting the goal: an attack
 * added since may read more of them.
 */
public final class FrontierReport {

    private FrontierReport() {
    }

    /** {@code attackers}: the latest sweep's ({@link Frontier#attackers()}). */
    public static String render(List<Frontier.Cell> cells, String attackers) {
        StringBuilder html = new StringBuilder("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
                + "<title>GuardedTuning frontier</title><style>body{font-family:sans-serif;margin:24px;color:#222}"
                + "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}"
                + "th{background:#f4f4f4}td:nth-child(-n+3){text-align:left}.goal{background:#e6f4e6}"
                + ".older{color:#999}</style></head><body><h1>Privacy-utility frontier</h1><p>Each point: one design, "
                + "defence and learning rate "
                + "on one task, over its seeds. x: the strongest adaptive attack's ROUGE-L F1, maximum over scored "
                + "training steps (step 0 included); y: mean accuracy minus the mean of centralized tuning of the same "
                + "layers on the same data. The goal region is x &le; 0.30 and y &ge; &minus;0.015; a row is "
                + "highlighted only where centralized tuning also beat chance by more than two standard errors (else "
                + "no defence can show a cost). Grey rows, and points marked &lsquo;older attackers&rsquo;, were "
                + "measured by other attackers than the latest sweep's (see the attackers column): their leakage may "
                + "be underestimated until they are measured again, and they are never highlighted.</p><p>Latest "
                + "sweep's attackers: " + SvgCharts.esc(attackers) + "</p>");
        List<SvgCharts.Point> points = new ArrayList<>();
        for (Frontier.Cell c : cells) {
            points.add(new SvgCharts.Point(label(c) + (current(c, attackers) ? "" : " (older attackers)"),
                    c.maxRougeL(), c.accuracyMean() - c.centralizedMean(), 1));
        }
        if (!points.isEmpty()) {
            html.append(SvgCharts.scatter("frontier", "Leakage vs utility gap", "max ROUGE-L F1 (adaptive SIP)",
                    "accuracy - centralized", points));
        }
        html.append("<table><tr><th>task</th><th>design</th><th>defence</th><th>lr</th><th>seeds</th>"
                + "<th>accuracy</th><th>centralized</th><th>paired diff 95% CI</th><th>max ROUGE-L</th>"
                + "<th>floor</th><th>σ</th><th>chance</th><th>strongest attack</th><th>attackers</th></tr>");
        for (Frontier.Cell c : cells) {
            String chance = c.chance() == null ? "?" : String.format(Locale.ROOT, "%.3f", c.chance());
            String measuredBy = c.attackers() == null ? "SIP only, shadow warmed on other text (before 2026-12-06)"
                    : c.attackers();
            String rowClass = !current(c, attackers) ? " class=\"older\"" : c.meetsGoal() ? " class=\"goal\"" : "";
            html.append(String.format(Locale.ROOT, "<tr%s><td>%s</td><td>%s</td><td>%s</td><td>%g</td><td>%d</td>"
                            + "<td>%.3f</td><td>%.3f</td><td>[%+.3f, %+.3f]</td><td>%.3f</td><td>%.3f</td>"
                            + "<td>%.3g</td><td>%s</td><td>%s</td><td>%s</td></tr>",
                    rowClass, SvgCharts.esc(c.task()), c.design(),
                    SvgCharts.esc(c.defence()), c.lr(), c.seeds(), c.accuracyMean(), c.centralizedMean(),
                    c.pairedDiffCi95()[0], c.pairedDiffCi95()[1], c.maxRougeL(), c.floorRougeL(), c.noiseStd(), chance,
                    SvgCharts.esc(c.strongestAttack()), SvgCharts.esc(measuredBy)));
        }
        return html.append("</table></body></html>").toString();
    }

    private static boolean current(Frontier.Cell c, String attackers) {
        return attackers.equals(c.attackers());
    }

    private static String label(Frontier.Cell c) {
        return String.format(Locale.ROOT, "%s %s %s lr %g", c.task().replace("-", "").substring(0, 4), c.design(),
                c.defence(), c.lr());
    }
}
