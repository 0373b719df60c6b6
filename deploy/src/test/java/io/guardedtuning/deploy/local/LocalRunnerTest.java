package io.guardedtuning.deploy.local;

import io.guardedtuning.checkpoint.HfCheckpoint;
import io.guardedtuning.checkpoint.ModelCatalog;
import io.guardedtuning.data.McTask;
import io.guardedtuning.data.PackageCache;
import io.guardedtuning.data.SplitSizes;
import io.guardedtuning.data.TaskRegistry;
import io.guardedtuning.eval.McEncoder;
import io.guardedtuning.model.OptConfig;
import io.guardedtuning.split.Design;
import io.guardedtuning.testing.TokenIdSearch;
import io.guardedtuning.tokenizer.BpeTokenizer;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import io.guardedtuning.testing.HeadlessChromium;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The local runner end to end: a real broker and the real services as processes (their builds from this reactor),
 * short sessions on the bundled model, and nothing left running afterwards.
 */
class LocalRunnerTest {

    /** The repository root: the parent of this module, where the services are built. */
    static Path home() {
        return Path.of("").toAbsolutePath().getParent();
    }

    static void assumeServicesBuilt() {
        for (String s : List.of("server-compute", "client-compute", "attack-audit")) {
            assumeTrue(Files.isRegularFile(home().resolve("services/" + s + "/target/quarkus-app/quarkus-run.jar")),
                    s + " is not built; run the tests through the reactor (./mvnw verify)");
        }
    }

    static String taskFile() throws URISyntaxException {
        Path file = Path.of(LocalRunnerTest.class.getResource("/tasks/weather.jsonl").toURI());
        return "arc:" + file + "," + file;
    }

    /**
     * The demo's defence settings (Online, undefended, 8-bit tensors) and Gradfree at fp32, on one stack; the audit
     * must find what a plain SIP attacker rebuilds from training steps (step 0 included), and no provider-side topic
     * may carry the client's token ids.
     */
    @Test
    void runsShortSessionsTheAuditScoresOnTrainingStepsAndLeavesNoProcessBehind(@TempDir Path dir)
            throws Exception {
        assumeServicesBuilt();
        RunSpec spec = new RunSpec("e2e-online", Design.ONLINE, 2, 0f, 8, 8, 8, 8, 4, 3e-3f, 1, 1, "gt-tiny-opt",
                taskFile(), 24, 8, 6, 2, false);
        RunSpec gradfree = new RunSpec("e2e-gradfree", Design.GRADFREE, 2, 0f, 32, 32, 32, 32, 4, 3e-3f, 1, 1,
                "gt-tiny-opt", taskFile(), 24, 8, 6, 2, false);
        List<ProcessSupervisor.Managed> started;
        RunReport r;
        RunReport g;
        List<String> leaks;
        try (LocalStack stack = new LocalStack(home(), dir.resolve("stack"), spec.auditEvery())) {
            // The auditor's default public text (the corpus's whole held-out split): the bundled fallback is a few
            // rows, too little for the attacker the demo and a provider would field.
            r = LocalRun.run(stack, spec, dir.resolve("run"), "test");
            g = LocalRun.run(stack, gradfree, dir.resolve("gradfree"), "test");
            leaks = providerSideRecordsHolding(stack.bootstrap(), trainingRows(spec));
            started = stack.supervisor().started();
        }
        System.out.println("e2e leakage: online " + r.privacy() + "\n  gradfree " + g.privacy());
        assertTrue(leaks.isEmpty(), "the client's token ids on provider-side topics: " + leaks);
        double step0 = r.series().leakage().get("sip").stream().filter(p -> p[0] == 0).mapToDouble(p -> p[1])
                .findFirst().orElseThrow(() -> new AssertionError("training step 0 was not scored"));
        assertTrue(step0 >= 0.8, "SIP at training step 0, undefended Online 8-bit: " + step0);
        // This task's rows ("sun 0 ... yes") share most tokens, so its floor is high; the attack must still beat it.
        assertTrue(r.privacy().bestRougeL() >= step0 && r.privacy().floorRougeL() < r.privacy().bestRougeL() - 0.1,
                "the headline is the max over training steps, beside a chance floor: " + r.privacy());
        List<double[]> gradfreeSip = g.series().leakage().get("sip");
        assertEquals(3, gradfreeSip.size(), "training steps 0, 2, 4 scored");
        assertTrue(gradfreeSip.stream().allMatch(p -> p[1] >= 0.8),
                "SIP on every training step of Gradfree at fp32 >= 0.8: " + g.privacy());
        assertEquals("done", g.run().status(), g.run().error());
        assertEquals("done", r.run().status(), r.run().error());
        assertEquals(6, r.cost().steps());
        assertEquals(6, r.series().loss().size());
        assertEquals(8, r.utility().testExamples());
        assertTrue(r.utility().accuracyAfter() >= 0 && r.utility().accuracyAfter() <= 1);
        assertTrue(r.cost().bytesUpPerStep() > 0 && r.cost().bytesDownPerStep() > 0, "bytes each way per step");
        assertTrue(r.run().machine().contains("cores"), r.run().machine());
        assertTrue(r.run().adaptersSha256().matches("[0-9a-f]{64}"), "the trained adapters are named by digest");
        List<double[]> sip = r.series().leakage().getOrDefault("sip", List.of());
        assertFalse(sip.isEmpty(), "the live audit scored sampled training steps");
        assertTrue(sip.stream().allMatch(p -> p[0] % spec.auditEvery() == 0 && p[1] >= 0 && p[1] <= 1),
                "scores are ROUGE-L F1 of sampled steps");
        assertTrue(Files.isRegularFile(LocalRun.summaryPath(dir.resolve("run"))));
        String html = Files.readString(dir.resolve("run/report.html"));
        assertTrue(html.contains("data-chart=\"lines\"") && html.contains("e2e-online"), "report has its charts");
        assertTrue(LocalRun.existing(dir.resolve("run")).isPresent(), "a finished run is found again (resume)");
        if (HeadlessChromium.installed()) {
            String dom = HeadlessChromium.dumpDom(dir.resolve("run/report.html").toString());
            assertTrue(dom.contains("<path class=\"series\"") && dom.contains("id=\"summary\""),
                    "the browser drew the loss curve and the table");
        }
        assertEquals(5, started.size(), "broker, server, auditor and the two clients were started");
        for (ProcessSupervisor.Managed m : started) {
            assertFalse(m.process().isAlive(), m.name() + " is still running");
            assertTrue(m.process().descendants().findAny().isEmpty(), m.name() + " left children");
        }
    }

    @Test
    void runsAnOfflineSessionWithTheEmulatorJobAndReportsTheGap(@TempDir Path dir) throws Exception {
        assumeServicesBuilt();
        assumeTrue(Files.isRegularFile(home().resolve(
                "services/emulator-distillation/target/quarkus-app/quarkus-run.jar")), "emulator-distillation built");
        RunSpec spec = new RunSpec("e2e-offline", Design.OFFLINE, 2, 0f, 32, 32, 32, 32, 4, 3e-3f, 1, 1,
                "gt-tiny-opt", taskFile(), 24, 8, 6, 0, false, 0, 2);
        Path publicText = dir.resolve("public.txt");
        Files.writeString(publicText, PUBLIC_TEXT.repeat(12));
        List<ProcessSupervisor.Managed> started;
        RunReport r;
        try (LocalStack stack = new LocalStack(home(), dir.resolve("stack"), spec.auditEvery())) {
            // The guard itself is emulator-distillation's test; here the flow is, on a text the model barely knows.
            stack.emulatorSettings(Map.of("gt.emulator.distillation.public-text", publicText.toString(),
                    "gt.emulator.guard.min-perplexity-ratio", "1.0"));
            r = LocalRun.run(stack, spec, dir.resolve("run"), "test");
            started = stack.supervisor().started();
        }
        assertEquals("done", r.run().status(), r.run().error());
        assertEquals(6, r.cost().steps());
        assertEquals(6, r.series().loss().size());
        RunReport.Offline offline = r.offline();
        assertTrue(offline != null && offline.packageBytes() > 0, "the one-time package is reported");
        assertTrue(offline.pluginAccuracy() >= 0 && offline.pluginAccuracy() <= 1, offline.toString());
        assertEquals(offline.pluginAccuracy() - offline.emulatorAccuracy(), offline.gap(), 1e-12);
        assertEquals(offline.pluginAccuracy(), r.utility().accuracyAfter(), "utility is the plug-in model's");
        assertTrue(r.cost().bytesUpTotal() > 0 && r.cost().bytesDownTotal() >= offline.packageBytes(),
                "adapters went up once, the package came down once: " + r.cost());
        assertTrue(r.privacy().attacks().isEmpty(), "nothing crossed per step, so nothing was attacked");
        assertTrue(r.run().adaptersSha256().matches("[0-9a-f]{64}"), "the returned adapters are named by digest");
        assertTrue(Files.readString(dir.resolve("run/report.html")).contains("emulator gap"));
        assertEquals(List.of("kafka", "emulator-distillation-e2e-offline", "client-compute-e2e-offline"),
                started.stream().map(ProcessSupervisor.Managed::name).toList());
        for (ProcessSupervisor.Managed m : started) {
            assertFalse(m.process().isAlive(), m.name() + " is still running");
        }
        assertEquals(0, started.get(1).process().exitValue(), "the emulator job ends by itself once plugged in");
    }

    /** The client's training rows as client-compute encodes them (the spec's task, model and train size). */
    static List<int[]> trainingRows(RunSpec spec) throws Exception {
        Path model = ModelCatalog.resolve(spec.model());
        OptConfig config = HfCheckpoint.readConfig(model);
        McTask task = new TaskRegistry(new PackageCache(), new SplitSizes(spec.trainSize(),
                Math.min(200, spec.evalSize()), spec.evalSize()), 600).resolve(spec.task());
        McEncoder encoder = new McEncoder(BpeTokenizer.fromDirectory(model), config.bosTokenId(),
                Math.min(256, config.maxPositionEmbeddings()));
        return task.train().subList(0, Math.min(spec.trainSize(), task.train().size())).stream()
                .map(e -> encoder.encodeAnswer(e).tokens()).toList();
    }

    /** Records of every topic but the sessions' own that hold 7 consecutive ids of a training row. */
    static List<String> providerSideRecordsHolding(String bootstrap, List<int[]> rows) {
        List<String> needles = rows.stream().filter(row -> row.length >= 8).map(row -> TokenIdSearch.json(row, 1, 7))
                .toList();
        assertFalse(needles.isEmpty());
        TokenIdSearch.Findings f = TokenIdSearch.onProviderSideTopics(new KafkaConsumer<>(Map.of(
                "bootstrap.servers", bootstrap, "group.id", "leak-check", "auto.offset.reset", "earliest",
                "max.partition.fetch.bytes", 67108864, "fetch.max.bytes", 67108864), new StringDeserializer(),
                new ByteArrayDeserializer()), needles, Duration.ofSeconds(15));
        assertTrue(f.records() > 10, "provider-side topics were read: " + f.records());
        return f.found();
    }

    /** Public text for the emulator's fidelity guard, so the test needs no package cache. */
    private static final String PUBLIC_TEXT = """
            The river runs past the old mill and under the stone bridge before it reaches the sea. In spring the
            water is high and brown; in late summer children wade across at the ford below the church. Farmers
            along the valley grow barley, beans and apples, and on market days the square fills with carts.
            The weather decides most things here: a dry month means a poor harvest, a wet one means mud and
            late sowing. Older people read the clouds over the hills and say whether rain will come by evening.
            """;

    @Test
    void aServiceThatCannotStartIsNamedWithItsReasonAndEverythingIsStopped(@TempDir Path dir) throws Exception {
        assumeServicesBuilt();
        List<ProcessSupervisor.Managed> started;
        ProcessSupervisor.StartFailure failure;
        try (LocalStack stack = new LocalStack(home(), dir.resolve("stack"), 2)) {
            failure = assertThrows(ProcessSupervisor.StartFailure.class,
                    () -> stack.ensureProvider(dir.resolve("no-such-model").toString(), 2));
            started = stack.supervisor().started();
        }
        assertTrue(failure.getMessage().startsWith("server-compute failed to start"), failure.getMessage());
        assertTrue(failure.getMessage().contains("no-such-model"), "the reason is shown: " + failure.getMessage());
        for (ProcessSupervisor.Managed m : started) {
            assertFalse(m.process().isAlive(), m.name() + " is still running");
        }
    }
}
