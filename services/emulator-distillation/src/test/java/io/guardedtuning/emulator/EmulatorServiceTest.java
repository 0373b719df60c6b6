package io.guardedtuning.emulator;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.guardedtuning.data.BenchmarkFiles;
import io.guardedtuning.data.McExample;
import io.guardedtuning.messaging.Topics;
import io.guardedtuning.offline.EmulatorPackage;
import io.guardedtuning.offline.EmulatorRequest;
import io.guardedtuning.offline.OfflineClient;
import io.guardedtuning.offline.OfflineTransport;
import io.guardedtuning.offline.PackageRejectedException;
import io.guardedtuning.session.OwnerToken;
import io.guardedtuning.session.SessionKeys;
import io.guardedtuning.testing.EmbeddedKafkaResource;
import io.guardedtuning.train.TaskFinetuner;
import io.guardedtuning.wire.DeadLetters;
import io.guardedtuning.wire.EventKind;
import io.guardedtuning.wire.SessionKey;
import io.guardedtuning.wire.TensorEvent;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItem;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@QuarkusTest
@WithTestResource(EmbeddedKafkaResource.class)
@WithTestResource(TinyProviderResource.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class EmulatorServiceTest {

    @ConfigProperty(name = "gt.api.operator-token")
    String operatorToken;

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final SessionKeys KEYS = SessionKeys.fromHex(TinyProviderResource.MASTER_KEY);
    private static final Duration WAIT = Duration.ofSeconds(90);
    private static final List<ConsumerRecord<String, String>> PROGRESS = new ArrayList<>();
    private static KafkaProducer<String, byte[]> producer;
    private static List<ProducerRecord<String, byte[]>> sentAdapters;
    private static final java.util.Set<Long> SEEN_DEAD_LETTERS = new java.util.HashSet<>();

    @Test
    @Order(1)
    void requestLeadsToASignedPackageWhoseTunedAdaptersComeBackAsAPlugInResult() throws Exception {
        String session = "svc-1";
        // Before the session's own request: an unsigned one and one signed with a key that is not the session's,
        // each asking for a different job. Neither may create anything.
        EmulatorRequest forged = EmulatorRequest.build(session, 1, 4, 0, null);
        send(List.of(new ProducerRecord<>(Topics.EMULATOR_REQUESTS, session, JSON.writeValueAsBytes(forged))));
        send(forged.records(new SessionKey(session, new byte[32]), "tenant", System.currentTimeMillis()));
        assertEquals("MISSING_HEADER", awaitDeadLetter(session));
        assertEquals("BAD_MAC", awaitDeadLetter(session));
        given().auth().oauth2(operatorToken).when().get("/jobs/" + session).then().statusCode(404)
                .body("message", containsString("no emulator job"));

        List<ProducerRecord<String, byte[]>> real = request(Map.of("session", session, "k", 1, "kept_layers", 2,
                "distil_steps", 4, "task", "piqa:" + TinyProviderResource.taskFile()));
        awaitProgress(session, "distilling");
        // While it runs: a forged cancel, an unsigned one and a replay of the real request are refused.
        send(EmulatorRequest.cancel(session).records(new SessionKey(session, new byte[32]), "tenant",
                System.currentTimeMillis()));
        send(List.of(new ProducerRecord<>(Topics.EMULATOR_REQUESTS, session,
                JSON.writeValueAsBytes(EmulatorRequest.cancel(session)))));
        send(real);
        assertEquals("BAD_MAC", awaitDeadLetter(session));
        assertEquals("MISSING_HEADER", awaitDeadLetter(session));
        assertEquals("REPLAYED", awaitDeadLetter(session));
        JsonNode published = awaitProgress(session, "published");
        given().auth().oauth2(operatorToken).when().get("/jobs/" + session).then().statusCode(200)
                .body("request.kept_layers", equalTo(2));
        assertTrue(PROGRESS.stream().anyMatch(r -> r.key().equals(session) && r.value().contains("\"distilling\"")
                && r.value().contains("\"loss\"")), "distillation steps are reported with their loss");
        assertTrue(published.path("detail").asText().contains(Topics.sessionDown(session)));

        SessionKey key = KEYS.forSession(session);
        byte[] pkg = receivePackages(key, 1).get(0);
        // A client that restarted before the package reached it asks again: the same package is sent again.
        request(Map.of("session", session, "k", 1, "kept_layers", 2, "distil_steps", 4));
        assertEquals(EmulatorPackage.sha256(pkg), EmulatorPackage.sha256(receivePackages(key, 2).get(1)));
        List<McExample> task = BenchmarkFiles.readPiqa(TinyProviderResource.taskFile());
        OfflineClient.Settings settings = new OfflineClient.Settings(new TaskFinetuner.Settings(4, 6, 1e-2f, 0f, 3),
                32, 16);
        assertEquals(PackageRejectedException.Reason.WRONG_SESSION, assertThrows(PackageRejectedException.class,
                () -> OfflineClient.tune(pkg, TinyProviderResource.PROVIDER.getPublic(), KEYS.forSession("svc-x"),
                        TinyProviderResource.VOCAB.tokenizer(), task, List.of(), settings)).reason());

        OfflineClient.Outcome outcome = OfflineClient.tune(pkg, TinyProviderResource.PROVIDER.getPublic(), key,
                TinyProviderResource.VOCAB.tokenizer(), task, List.of(), settings);
        assertTrue(outcome.summary().accuracyAfter() > outcome.summary().accuracyBefore(), outcome.summary().toString());
        sentAdapters = outcome.records();
        send(sentAdapters);

        JsonNode result = awaitProgress(session, "plugged-in").path("result");
        assertTrue(result.path("plugin_accuracy").asDouble() > 0.5, result.toString());
        assertEquals(outcome.summary().accuracyAfter(), result.path("emulator_accuracy").asDouble(), 1e-9);
        given().auth().oauth2(OwnerToken.of(key)).when().get("/jobs/" + session).then().statusCode(200)
                .body("phase", equalTo("plugged-in"));
        given().auth().oauth2(operatorToken).when().get("/jobs").then().statusCode(200)
                .body("session", hasItem(session));
        given().when().get("/provider/public-key").then().statusCode(200);
    }

    @Test
    @Order(2)
    void tamperedOrForeignAdaptersAreDeadLettered() throws Exception {
        ProducerRecord<String, byte[]> original = sentAdapters.get(0);
        byte[] flipped = original.value().clone();
        flipped[flipped.length / 2] ^= 1;
        send(List.of(new ProducerRecord<>(original.topic(), null, original.key(), flipped, original.headers())));
        assertEquals("BAD_MAC", awaitDeadLetter(original.key()));

        // Authentic adapters for a session that never received a package.
        SessionKey ghost = KEYS.forSession("svc-ghost");
        send(OfflineTransport.adapterRecords(ghost, "client", Map.of(), "0".repeat(64), 0));
        assertEquals("PROTOCOL", awaitDeadLetter("svc-ghost"));
    }

    @Test
    @Order(3)
    void anEmulatorAsGoodAsTheFullModelIsRefused() throws Exception {
        request(Map.of("session", "svc-whole", "k", 1, "kept_layers", 4, "distil_steps", 0));
        JsonNode refused = awaitProgress("svc-whole", "refused");
        assertTrue(refused.path("detail").asText().contains("ceiling"), refused.toString());
    }

    @Test
    @Order(4)
    void aRunningJobIsCancelledOverRest() throws Exception {
        request(Map.of("session", "svc-cancel", "k", 1, "kept_layers", 2, "distil_steps", 1_000_000));
        awaitProgress("svc-cancel", "distilling");
        String owner = OwnerToken.of(KEYS.forSession("svc-cancel"));
        given().when().post("/jobs/svc-cancel/cancel").then().statusCode(401).body("status", equalTo(401));
        given().auth().oauth2(owner).when().post("/jobs/svc-cancel/cancel").then().statusCode(403);
        given().auth().oauth2(owner).when().get("/jobs").then().statusCode(200)
                .body("session", equalTo(List.of("svc-cancel")));
        given().auth().oauth2(owner).when().get("/jobs/svc-1").then().statusCode(403);
        given().auth().oauth2(owner).when().get("/jobs/svc-cancel").then().statusCode(200)
                .body("phase", equalTo("distilling"));
        given().auth().oauth2(operatorToken).when().post("/jobs/svc-cancel/cancel").then().statusCode(202);
        awaitProgress("svc-cancel", "cancelled");
        given().auth().oauth2(operatorToken).when().post("/jobs/nobody/cancel").then().statusCode(404)
                .body("message", containsString("no emulator job for session nobody"));
        given().auth().oauth2(operatorToken).when().get("/jobs/nobody").then().statusCode(404);
    }

    @Test
    @Order(5)
    void theSessionsOwnSignedCancelStopsItsJob() throws Exception {
        request(Map.of("session", "svc-own-cancel", "k", 1, "kept_layers", 2, "distil_steps", 1_000_000));
        awaitProgress("svc-own-cancel", "distilling");
        send(EmulatorRequest.cancel("svc-own-cancel").records(KEYS.forSession("svc-own-cancel"), "client",
                System.currentTimeMillis()));
        awaitProgress("svc-own-cancel", "cancelled");
    }

    /** A data owner's own task file exists only on its side: the adapters are plugged in all the same, no gap. */
    @Test
    @Order(6)
    void adaptersArePluggedInWhenTheTaskIsTheOwnersOwnFile() throws Exception {
        String session = "svc-owner-file";
        request(Map.of("session", session, "k", 1, "kept_layers", 2, "distil_steps", 4,
                "task", "piqa:/only/on/the/owners/side.jsonl"));
        SessionKey key = KEYS.forSession(session);
        byte[] pkg = receivePackages(key, 1).get(0);
        OfflineClient.Outcome outcome = OfflineClient.tune(pkg, TinyProviderResource.PROVIDER.getPublic(), key,
                TinyProviderResource.VOCAB.tokenizer(), BenchmarkFiles.readPiqa(TinyProviderResource.taskFile()),
                List.of(), new OfflineClient.Settings(new TaskFinetuner.Settings(4, 6, 1e-2f, 0f, 3), 32, 16));
        send(outcome.records());

        JsonNode result = awaitProgress(session, "plugged-in").path("result");
        assertTrue(result.path("gap_not_measured").asText().contains("not readable on the provider's side"),
                result.toString());
        assertTrue(result.path("accuracy_gap").isMissingNode(), result.toString());
    }

    @AfterAll
    static void closeProducer() {
        if (producer != null) {
            producer.close();
        }
    }

    /** Sends a build request as the session's client does (signed, stamped now); returns its records. */
    private static List<ProducerRecord<String, byte[]>> request(Map<String, Object> body) throws Exception {
        EmulatorRequest request = JSON.convertValue(body, EmulatorRequest.class);
        // Two requests of one session within one millisecond would look like a replay.
        Thread.sleep(2);
        List<ProducerRecord<String, byte[]>> records = request.records(KEYS.forSession(request.session()), "client",
                System.currentTimeMillis());
        send(records);
        return records;
    }

    private static synchronized void send(List<ProducerRecord<String, byte[]>> records) throws Exception {
        if (producer == null) {
            producer = new KafkaProducer<>(Map.of("bootstrap.servers", bootstrap()), new StringSerializer(),
                    new ByteArraySerializer());
        }
        for (ProducerRecord<String, byte[]> r : records) {
            producer.send(r).get();
        }
    }

    private static String bootstrap() {
        return EmbeddedKafkaResource.broker().bootstrapServers();
    }

    private static JsonNode awaitProgress(String session, String phase) throws Exception {
        try (KafkaConsumer<String, String> c = consumer(Topics.EMULATOR_PROGRESS, new StringDeserializer())) {
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (System.nanoTime() < deadline) {
                for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(200))) {
                    PROGRESS.add(r);
                    JsonNode event = JSON.readTree(r.value());
                    if (session.equals(r.key()) && phase.equals(event.path("phase").asText())) {
                        return event;
                    }
                    if (session.equals(r.key()) && event.path("phase").asText().equals("failed")) {
                        throw new AssertionError("job failed: " + event);
                    }
                }
            }
        }
        throw new AssertionError("no '" + phase + "' progress for " + session + " within " + WAIT);
    }

    /** The first {@code count} complete packages on the session's down topic, each as a fresh client sees it. */
    private static List<byte[]> receivePackages(SessionKey key, int count) throws Exception {
        List<byte[]> packages = new ArrayList<>();
        OfflineTransport.Receiver receiver = new OfflineTransport.Receiver(key, EventKind.PACKAGE_CHUNK);
        try (KafkaConsumer<String, byte[]> c = consumer(Topics.sessionDown(key.sessionId()), new ByteArrayDeserializer())) {
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (System.nanoTime() < deadline) {
                for (ConsumerRecord<String, byte[]> r : c.poll(Duration.ofMillis(200))) {
                    Optional<TensorEvent> whole = receiver.offer(r);
                    if (whole.isPresent()) {
                        packages.add(whole.get().payload());
                        receiver = new OfflineTransport.Receiver(key, EventKind.PACKAGE_CHUNK);
                    }
                    if (packages.size() == count) {
                        return packages;
                    }
                }
            }
        }
        throw new AssertionError(packages.size() + " of " + count + " packages on " + Topics.sessionDown(key.sessionId()));
    }

    /** The reason of the next dead letter keyed {@code key} that this test has not seen yet. */
    private static String awaitDeadLetter(String key) {
        try (KafkaConsumer<String, byte[]> c = consumer(Topics.DEAD_LETTER, new ByteArrayDeserializer())) {
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (System.nanoTime() < deadline) {
                for (ConsumerRecord<String, byte[]> r : c.poll(Duration.ofMillis(200))) {
                    if (key.equals(r.key()) && SEEN_DEAD_LETTERS.add(r.offset())) {
                        return new String(r.headers().lastHeader(DeadLetters.REASON).value(), StandardCharsets.UTF_8);
                    }
                }
            }
        }
        throw new AssertionError("no dead letter for " + key);
    }

    private static <V> KafkaConsumer<String, V> consumer(String topic,
                                                         org.apache.kafka.common.serialization.Deserializer<V> values) {
        KafkaConsumer<String, V> c = new KafkaConsumer<>(Map.of("bootstrap.servers", bootstrap(),
                "max.partition.fetch.bytes", 2 << 20), new StringDeserializer(), values);
        TopicPartition p = new TopicPartition(topic, 0);
        c.assign(List.of(p));
        c.seekToBeginning(List.of(p));
        return c;
    }
}
