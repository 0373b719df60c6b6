package io.guardedtuning.deploy.local;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.guardedtuning.messaging.Topics;
import io.guardedtuning.session.PlainKafkaTransport;
import io.guardedtuning.session.SessionKeys;
import io.guardedtuning.split.Design;
import io.guardedtuning.testing.HostileRecords;
import io.guardedtuning.wire.DeadLetters;
import io.guardedtuning.wire.EventKind;
import io.guardedtuning.wire.SessionKey;
import io.guardedtuning.wire.WireHeaders;
import io.guardedtuning.wire.WireLimits;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.header.Header;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Disabled;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.Future;
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
    /** Records on fresh session ids in the hostile tenant's flood (the old per-session cache held 1024). */
    private static final int FLOOD = 3000;
    /** What a service's heap after a full GC may grow by under attack (the 150,000,000-chunk record pinned 572 MB). */
    private static final long HEAP_GROWTH_MIB = 64;
    /** attack-audit's mark on its dead letters (AuditChannels.DEAD_LETTER_GROUP_HEADER). */
    private static final String AUDITOR_GROUP_HEADER = "gt_dlq_group";

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

    /** What a hostile tenant sent, where it landed, and the dead-letter reasons that would be right for it. */
    private record Attack(String what, ProducerRecord<String, byte[]> record, Future<RecordMetadata> sent,
                          Set<String> reasons) {
    }

    /**
     * A tenant holding the key of its own session only ("mallory") writes to every topic a service consumes while
     * another session trains: both CloudEvents poison records on each, a signed record declaring 150,000,000
     * chunks, 3000 records on fresh session ids signed with keys nobody issued, the live session's first start
     * replayed after that flood, and a signed shape whose element count overflows. Every service stays UP, keeps
     * its heap (after a full GC) within {@value #HEAP_GROWTH_MIB} MiB of what it used before, and dead-letters each
     * refused record with its reason and without its payload; the session ends bit-identical to the undisturbed one.
     */
    @Test
    void hostileRecordsOnEveryConsumedTopicLeaveEveryServiceUpAndBoundedAndTheSessionBitIdentical() throws Exception {
        String attacker = "mallory";
        SessionKey attackerKey = new SessionKeys(HexFormat.of().parseHex(stack.masterKey())).forSession(attacker);
        // The emulator as the Kubernetes Job runs it for the attacker's own Offline session: its adapter consumer
        // then verifies the attacker's records rather than skipping another session's.
        ProcessSupervisor.Managed emulator = stack.startEmulator(spec(attacker), dir.resolve(attacker));
        try (KafkaProducer<String, byte[]> producer = PlainKafkaTransport.producer(stack.bootstrap(),
                WireLimits.chunkedDefaults())) {
            Training t = startTraining("hostile", 1);
            String down = Topics.sessionDown(t.spec().id());
            // The client's own topic first, before the slow measurements: its session is short, and a client that
            // has finished (and exited) before the poison arrives could not show it survives it.
            List<Attack> attacks = new ArrayList<>();
            attacks.add(send(producer, "ce_time=yesterday", HostileRecords.badCloudEventTime(down, null), Set.of()));
            attacks.add(send(producer, "cloudevents+json, not JSON",
                    HostileRecords.structuredCloudEventNotJson(down, attacker), Set.of()));
            producer.flush();
            Map<String, ProcessSupervisor.Managed> services = new LinkedHashMap<>();
            services.put("client-compute", t.client());
            services.put("server-compute", stack.server());
            services.put("attack-audit", stack.auditor());
            services.put("emulator-distillation", emulator);
            Map<String, Long> heapBefore = new LinkedHashMap<>();
            for (Map.Entry<String, ProcessSupervisor.Managed> e : services.entrySet()) {
                heapBefore.put(e.getKey(), heapAfterGcMiB(e.getValue()));
            }
            ProducerRecord<String, byte[]> liveStart = firstStart(t.spec().id());
            long attackStart = System.nanoTime();

            for (String topic : List.of(Topics.ACTIVATIONS_UP, Topics.GRADIENTS_UP, Topics.AUDIT_SCORES,
                    Topics.ADAPTERS_UP, Topics.EMULATOR_REQUESTS)) {
                attacks.add(send(producer, "ce_time=yesterday", HostileRecords.badCloudEventTime(topic, null), Set.of()));
                attacks.add(send(producer, "cloudevents+json, not JSON",
                        HostileRecords.structuredCloudEventNotJson(topic, attacker), Set.of()));
            }
            Map<String, EventKind> chunked = Map.of(Topics.ACTIVATIONS_UP, EventKind.ACTIVATION_UP,
                    Topics.GRADIENTS_UP, EventKind.GRADIENT_UP, Topics.AUDIT_SCORES, EventKind.AUDIT_SCORE,
                    Topics.ADAPTERS_UP, EventKind.ADAPTER);
            chunked.forEach((topic, kind) -> attacks.add(send(producer, HostileRecords.HUGE_CHUNK_COUNT + " chunks",
                    HostileRecords.declaringChunks(topic, attackerKey, kind, HostileRecords.HUGE_CHUNK_COUNT),
                    Set.of("OVERSIZE"))));
            for (int i = 0; i < FLOOD; i++) {
                attacks.add(send(producer, "flood", HostileRecords.unsignedStart(Topics.ACTIVATIONS_UP, "flood-" + i),
                        Set.of("BAD_MAC")));
            }
            attacks.add(send(producer, "replayed start", liveStart, Set.of("STALE_STEP", "REPLAYED")));
            attacks.add(send(producer, "overflowing shape",
                    HostileRecords.overflowingShape(Topics.ACTIVATIONS_UP, attackerKey), Set.of("MALFORMED_HEADER")));
            producer.flush();

            // The client first, while it still trains (it exits with its session): its down topic was hit first.
            awaitDeadLetters(attacks.stream().filter(a -> a.record().topic().equals(down)).toList());
            Map<String, Long> heapAfter = new LinkedHashMap<>();
            List<String> exitedWithTheirSession = new ArrayList<>();
            for (Map.Entry<String, ProcessSupervisor.Managed> e : services.entrySet()) {
                if (e.getValue() != t.client() && heapAfter.size() + exitedWithTheirSession.size() == 1) {
                    awaitDeadLetters(attacks); // everything refused everywhere before the provider's are measured
                }
                JsonNode health = stack.health(e.getValue()).orElse(null);
                if (health == null && e.getValue() == t.client() && t.client().process().waitFor(20, TimeUnit.SECONDS)) {
                    // A short session can end before this check: the client is a job that exits with its session,
                    // and its consumer having survived shows below (its dead letters, and the session done and
                    // bit-identical). Its heap cannot be measured then, and is not reported as if it had been.
                    exitedWithTheirSession.add(e.getKey());
                    continue;
                }
                assertTrue(health != null && "UP".equals(health.path("status").asText()),
                        e.getKey() + " is not UP after the attack: " + health + "; see " + e.getValue().log());
                heapAfter.put(e.getKey(), heapAfterGcMiB(e.getValue()));
            }
            Map<String, List<ConsumerRecord<String, byte[]>>> deadLetters = awaitDeadLetters(attacks);
            double attackSeconds = (System.nanoTime() - attackStart) / 1e9;
            JsonNode summary = awaitSummary(t.client(), t.run());

            assertSameTraining(undisturbed, summary, 0);
            heapAfter.forEach((service, after) -> assertTrue(after - heapBefore.get(service) <= HEAP_GROWTH_MIB,
                    service + " heap after GC grew from " + heapBefore.get(service) + " to " + after + " MiB"));
            for (Attack a : attacks) {
                RecordMetadata at = a.sent().get();
                List<ConsumerRecord<String, byte[]>> letters = deadLetters.getOrDefault(coordinates(at), List.of());
                for (ConsumerRecord<String, byte[]> d : letters) {
                    String reason = header(d, DeadLetters.REASON);
                    assertTrue(a.reasons().isEmpty() ? !reason.isEmpty() : a.reasons().contains(reason),
                            a.what() + " on " + at + " dead-lettered as " + reason);
                    assertEquals(0, d.value().length, "no payload in the dead letter of " + a.what());
                    assertEquals(DeadLetters.sha256(a.record().value()), header(d, DeadLetters.PAYLOAD_DIGEST));
                }
            }
            System.out.printf("hostile tenant: %d records on %d topics, refused and dead-lettered in %.0f s; heap "
                    + "after GC (MiB) before %s, after %s (exited with their session: %s); the session ended "
                    + "bit-identical%n", attacks.size(),
                    deadLetters.keySet().stream().map(c -> c.substring(0, c.indexOf('/'))).distinct().count(),
                    attackSeconds, heapBefore, heapAfter, exitedWithTheirSession);
        } finally {
            ProcessSupervisor.stop(emulator);
        }
    }

    private static Attack send(KafkaProducer<String, byte[]> producer, String what, ProducerRecord<String, byte[]> r,
                               Set<String> reasons) {
        return new Attack(what, r, producer.send(r), reasons);
    }

    /** The session's first CONTROL start on the up topic, as a hostile tenant could have copied it. */
    private static ProducerRecord<String, byte[]> firstStart(String session) {
        try (KafkaConsumer<String, byte[]> c = PlainKafkaTransport.consumer(stack.bootstrap(),
                WireLimits.chunkedDefaults(), "copy-" + UUID.randomUUID(), "earliest")) {
            c.subscribe(List.of(Topics.ACTIVATIONS_UP));
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (System.nanoTime() < deadline) {
                for (ConsumerRecord<String, byte[]> r : c.poll(Duration.ofMillis(200))) {
                    if (session.equals(r.key()) && EventKind.CONTROL.name().equals(header(r, WireHeaders.KIND))) {
                        return new ProducerRecord<>(r.topic(), null, r.key(), r.value(), r.headers());
                    }
                }
            }
        }
        return fail("no start of session " + session + " on " + Topics.ACTIVATIONS_UP);
    }

    /**
     * Who consumes which topic and so must dead-letter what is refused there: server-compute and attack-audit both
     * read the up topics (the auditor marks its dead letters with {@link #AUDITOR_GROUP_HEADER}); the attacker's own
     * emulator job refuses what does not verify on the requests topic (a null key as WRONG_SESSION).
     */
    private static int expectedDeadLetters(String topic) {
        if (topic.equals(Topics.ACTIVATIONS_UP) || topic.equals(Topics.GRADIENTS_UP)) {
            return 2;
        }
        return 1;
    }

    /** The dead letters of the attack's records by source coordinates, once every expected one has arrived. */
    private static Map<String, List<ConsumerRecord<String, byte[]>>> awaitDeadLetters(List<Attack> attacks)
            throws Exception {
        Map<String, Integer> expected = new LinkedHashMap<>();
        for (Attack a : attacks) {
            RecordMetadata at = a.sent().get(30, TimeUnit.SECONDS);
            expected.put(coordinates(at), expectedDeadLetters(at.topic()));
        }
        Map<String, List<ConsumerRecord<String, byte[]>>> found = new LinkedHashMap<>();
        try (KafkaConsumer<String, byte[]> c = PlainKafkaTransport.consumer(stack.bootstrap(),
                WireLimits.chunkedDefaults(), "dead-letters-" + UUID.randomUUID(), "earliest")) {
            c.subscribe(List.of(Topics.DEAD_LETTER));
            long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
            while (System.nanoTime() < deadline && !allFound(expected, found)) {
                for (ConsumerRecord<String, byte[]> d : c.poll(Duration.ofMillis(200))) {
                    String source = header(d, DeadLetters.SOURCE_TOPIC) + "/" + header(d, DeadLetters.SOURCE_PARTITION)
                            + "/" + header(d, DeadLetters.SOURCE_OFFSET);
                    if (expected.containsKey(source)) {
                        found.computeIfAbsent(source, k -> new ArrayList<>()).add(d);
                    }
                }
            }
        }
        List<String> missing = new ArrayList<>();
        expected.forEach((source, n) -> {
            List<ConsumerRecord<String, byte[]>> letters = found.getOrDefault(source, List.of());
            long byAuditor = letters.stream().filter(d -> header(d, AUDITOR_GROUP_HEADER) != null).count();
            boolean upTopic = n == 2;
            if (letters.size() < n || (upTopic && (byAuditor < 1 || letters.size() - byAuditor < 1))) {
                missing.add(source + " (" + letters.size() + " of " + n + ")");
            }
        });
        assertTrue(missing.isEmpty(), missing.size() + " refused records lack their dead letters, e.g. "
                + missing.subList(0, Math.min(5, missing.size())));
        return found;
    }

    private static boolean allFound(Map<String, Integer> expected,
                                    Map<String, List<ConsumerRecord<String, byte[]>>> found) {
        return expected.entrySet().stream()
                .allMatch(e -> found.getOrDefault(e.getKey(), List.of()).size() >= e.getValue());
    }

    private static String coordinates(RecordMetadata at) {
        return at.topic() + "/" + at.partition() + "/" + at.offset();
    }

    private static String header(ConsumerRecord<String, byte[]> r, String name) {
        Header h = r.headers().lastHeader(name);
        return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }

    /**
     * A service's used heap right after a full collection, in MiB ({@code jcmd <pid> GC.run}, then the generations'
     * "used" in {@code GC.heap_info}): what it holds on to, not what it has yet to collect.
     */
    private static long heapAfterGcMiB(ProcessSupervisor.Managed service) throws Exception {
        jcmd(service, "GC.run");
        Matcher used = Pattern.compile("total \\d+K, used (\\d+)K").matcher(jcmd(service, "GC.heap_info"));
        long kib = 0;
        boolean any = false;
        while (used.find()) {
            kib += Long.parseLong(used.group(1));
            any = true;
        }
        assertTrue(any, "no heap figures from jcmd for " + service.name());
        return kib / 1024;
    }

    private static String jcmd(ProcessSupervisor.Managed service, String command) throws Exception {
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(),
                Long.toString(service.pid()), command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0,
                "jcmd " + command + " on " + service.name() + ": " + out);
        return out;
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
