package io.guardedtuning.deploy.local;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.guardedtuning.split.Design;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Process-level faults on the local stack, its parts started as the local runner starts them (a broker process,
 * server-compute, attack-audit, client-compute): server-compute killed with SIGKILL mid-training and replaced,
 * client-compute killed with SIGKILL mid-training and started again on its checkpoint, and the broker stopped and
 * started again on its data. Each session must end as the undisturbed one does: the same steps and per-step losses,
 * and bit-identical adapters (the summary's SHA-256).
 */
class ProcessFaultsTest {

    private static final String MODEL = "gt-tiny-opt";
    /** 24 examples, batch 4, two epochs. */
    private static final int STEPS = 12;
    private static final Map<String, String> CLIENT = Map.of(
            "gt.client.checkpoint-every", "2",
            // Short, so a lost answer is asked for again soon; many, so a replacement server has time to come up
            // and the dead one's group membership to expire (Kafka's 45 s session timeout).
            "gt.client.answer-timeout", "5s",
            "gt.client.max-attempts", "40");
    private static final Duration CLIENT_LIMIT = Duration.ofMinutes(5);
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path dir;
    private static LocalStack stack;
    private static JsonNode undisturbed;

    private static RunSpec spec(String id) throws Exception {
        return new RunSpec(id, Design.ONLINE, 2, 0f, 32, 32, 32, 32, 4, 3e-3f, 2, 7, MODEL,
                LocalRunnerTest.taskFile(), 24, 4, 0, 0, false);
    }

    @BeforeAll
    static void startStackAndRunUndisturbed() throws Exception {
        LocalRunnerTest.assumeServicesBuilt();
        // The auditor samples training step 0 only (it needs some N); the clients keep no rows (audit-every 0), so
        // they refuse its reconstruction and nothing is scored.
        stack = new LocalStack(LocalRunnerTest.home(), dir.resolve("stack"), 1000);
        stack.auditOnPublicCorpus(false);
        stack.ensureProvider(MODEL, 2);
        Path run = dir.resolve("undisturbed");
        undisturbed = awaitSummary(stack.startClient(spec("undisturbed"), run, CLIENT), run);
        assertEquals("done", undisturbed.path("status").asText(), undisturbed.path("error").asText());
        assertEquals(STEPS, undisturbed.path("steps").asLong());
        assertEquals(64, undisturbed.path("adaptersSha256").asText().length());
    }

    @AfterAll
    static void stopStack() {
        if (stack != null) {
            stack.close();
        }
    }

    @Test
    void serverKilledMidTrainingIsReplacedAndTheSessionEndsBitIdentical() throws Exception {
        Training t = startTraining("server-kill", 4);
        RunSpec spec = t.spec();
        ProcessSupervisor.Managed client = t.client();
        long killedAt = System.nanoTime();
        stack.killServer();
        // The client notices (an answer that never comes is asked for again), in its progress and its metrics.
        awaitStatus(client, "a retry", s -> s.path("link").path("retries").asLong() >= 1);
        assertTrue(metric(stack.clientMetrics(client).orElseThrow(), "gt_client_retries_total") >= 1,
                "gt_client_retries_total counts the retry");
        stack.ensureProvider(MODEL, 2);
        JsonNode summary = awaitSummary(client, t.run());

        assertSameTraining(undisturbed, summary, 0);
        long retries = summary.path("link").path("retries").asLong();
        assertTrue(retries >= 1, "the summary records the retries: " + summary.path("link"));
        JsonNode served = stack.serverCounters().orElseThrow().path("sessions").path(spec.id());
        assertTrue(served.path("messagesOut").asLong() > 0, "the replacement server answered the rest: " + served);
        RunReport report = LocalRun.report(spec, summary, null, null, null, "test", Instant.now(), 0, 0, null);
        assertEquals(retries, report.cost().retries(), "the run report's cost carries the retries");
        assertEquals(summary.path("link").path("resendsServed").asLong(), report.cost().resends());
        System.out.printf("server-compute killed (SIGKILL) at training step >= 4: session done %.0f s later, "
                + "link %s, replacement server %s%n", (System.nanoTime() - killedAt) / 1e9, summary.path("link"),
                served);
    }

    @Test
    void clientKilledMidTrainingResumesFromItsCheckpointBitIdentical() throws Exception {
        Training t = startTraining("client-kill", 7);
        RunSpec spec = t.spec();
        Path run = t.run();
        ProcessSupervisor.Managed first = t.client();
        ProcessSupervisor.kill(first);
        long saved = JSON.readTree(run.resolve("checkpoint/state.json").toFile()).path("step").asLong();
        assertTrue(saved >= 6 && saved % 2 == 0, "a checkpoint every 2 steps, the last at " + saved);
        assertTrue(Files.notExists(run.resolve("client-summary.json")), "the killed client wrote no summary");

        JsonNode summary = awaitSummary(stack.startClient(spec, run, CLIENT), run);
        assertEquals(saved, summary.path("resumedFromStep").asLong(), "resumed from the last checkpoint");
        assertSameTraining(undisturbed, summary, (int) saved);
        // One server saw it all: a start for each pass, the first client's two (evaluation before, training) and
        // the second's three (evaluation before, training, evaluation after).
        JsonNode served = stack.serverCounters().orElseThrow().path("sessions").path(spec.id());
        assertEquals(5, served.path("restarts").asLong(), "starts the server saw: " + served);
        System.out.printf("client-compute killed (SIGKILL) at training step >= 7, restarted: resumed from step %d, "
                + "link %s, server %s%n", saved, summary.path("link"), served);
    }

    @Test
    void brokerRestartedMidTrainingTheSessionEndsBitIdentical() throws Exception {
        Training t = startTraining("broker-restart", 4);
        long stoppedAt = System.nanoTime();
        stack.restartBroker();
        JsonNode summary = awaitSummary(t.client(), t.run());

        assertSameTraining(undisturbed, summary, 0);
        System.out.printf("broker stopped (SIGTERM) at training step >= 4 and started again on its data: session "
                + "done %.0f s later, link %s%n", (System.nanoTime() - stoppedAt) / 1e9, summary.path("link"));
    }

    private record Training(RunSpec spec, Path run, ProcessSupervisor.Managed client) {
    }

    /** Starts a client for a fresh session and waits until it has done {@code steps} training steps. */
    private static Training startTraining(String id, long steps) throws Exception {
        RunSpec spec = spec(id);
        Path run = dir.resolve(id);
        ProcessSupervisor.Managed client = stack.startClient(spec, run, CLIENT);
        awaitStatus(client, "training step " + steps, s -> s.path("phase").asText().equals("TRAINING")
                && s.path("step").asLong() >= steps);
        return new Training(spec, run, client);
    }

    /** The undisturbed run's steps from {@code resumedFrom} on: same losses, same final adapters and accuracy. */
    private static void assertSameTraining(JsonNode expected, JsonNode actual, int resumedFrom) {
        assertEquals("done", actual.path("status").asText(), actual.path("error").asText());
        assertEquals(STEPS - resumedFrom, actual.path("steps").asLong(), "steps run (none skipped or repeated)");
        List<JsonNode> losses = new ArrayList<>();
        expected.path("losses").forEach(losses::add);
        List<JsonNode> got = new ArrayList<>();
        actual.path("losses").forEach(got::add);
        assertEquals(losses.subList(resumedFrom, STEPS), got, "per-step losses");
        assertEquals(expected.path("adaptersSha256").asText(), actual.path("adaptersSha256").asText(),
                "trained adapters, bit for bit");
        assertEquals(expected.path("accuracyAfter"), actual.path("accuracyAfter"));
    }

    /** Polls the client's GET /session until its progress satisfies {@code until}. */
    private static void awaitStatus(ProcessSupervisor.Managed client, String what, Predicate<JsonNode> until)
            throws InterruptedException {
        long deadline = System.nanoTime() + CLIENT_LIMIT.toNanos();
        while (System.nanoTime() < deadline) {
            if (!client.process().isAlive()) {
                fail("client-compute exited before " + what + "; see " + client.log());
            }
            if (stack.clientStatus(client).map(s -> until.test(s.path("progress"))).orElse(false)) {
                return;
            }
            Thread.sleep(250);
        }
        fail("no " + what + " within " + CLIENT_LIMIT.toSeconds() + " s; see " + client.log());
    }

    private static JsonNode awaitSummary(ProcessSupervisor.Managed client, Path run) throws Exception {
        if (!client.process().waitFor(CLIENT_LIMIT.toSeconds(), TimeUnit.SECONDS)) {
            fail("client-compute did not finish within " + CLIENT_LIMIT.toSeconds() + " s; see " + client.log());
        }
        assertEquals(0, client.process().exitValue(), "client-compute's exit code; see " + client.log());
        return JSON.readTree(run.resolve("client-summary.json").toFile());
    }

    /** The value of a Prometheus counter (the first series of that name). */
    private static double metric(String metrics, String name) {
        Matcher m = Pattern.compile("(?m)^" + name + "\\{[^}]*} (\\S+)$").matcher(metrics);
        assertTrue(m.find(), name + " is exported");
        return Double.parseDouble(m.group(1));
    }
}
