package io.guardedtuning.server;

import io.guardedtuning.attack.KnownDefence;
import io.guardedtuning.session.SplitProtocol;
import io.guardedtuning.messaging.Topics;
import io.guardedtuning.model.OptModel;
import io.guardedtuning.model.Split;
import io.guardedtuning.session.RemoteBackboneLink;
import io.guardedtuning.session.OwnerToken;
import io.guardedtuning.session.SessionKeys;
import io.guardedtuning.split.BackboneServer;
import io.guardedtuning.tensor.HostTensor;
import io.guardedtuning.testing.EmbeddedKafkaResource;
import io.guardedtuning.testing.HostileRecords;
import io.guardedtuning.testing.TestKafka;
import io.guardedtuning.testing.TinyModelResource;
import io.guardedtuning.testing.TinyModels;
import io.guardedtuning.wire.DeadLetters;
import io.guardedtuning.wire.EventKind;
import io.guardedtuning.wire.RejectReason;
import io.guardedtuning.wire.SessionKey;
import io.guardedtuning.wire.TensorEventWriter;
import io.guardedtuning.wire.WireLimits;
import io.quarkus.test.common.ResourceArg;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.greaterThan;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** server-compute on a real broker, driven by a test-side client link as client-compute drives it. */
@QuarkusTest
@WithTestResource(EmbeddedKafkaResource.class)
@WithTestResource(value = TinyModelResource.class,
        initArgs = @ResourceArg(name = TinyModelResource.PROPERTY, value = "gt.server.model"))
class ServerComputeKafkaTest {

    static final WireLimits LIMITS = WireLimits.chunkedDefaults();
    static KafkaProducer<String, byte[]> producer;

    @ConfigProperty(name = "gt.server.master-key")
    String masterKey;
    @ConfigProperty(name = "gt.api.operator-token")
    String operatorToken;
    @ConfigProperty(name = "gt.server.k")
    int k;

    @BeforeAll
    static void connect() {
        producer = TestKafka.producer();
    }

    @AfterAll
    static void disconnect() {
        producer.close();
    }

    /** A client link on the session's down topic; closing it stops its consumer. */
    record Client(RemoteBackboneLink link, AutoCloseable down) implements AutoCloseable {
        @Override
        public void close() throws Exception {
            down.close();
        }
    }

    Client client(String session) {
        RemoteBackboneLink link = new RemoteBackboneLink(SessionKeys.fromHex(masterKey).forSession(session),
                "client-test", LIMITS, new RemoteBackboneLink.Settings(32, 32, 32, 32, Duration.ofSeconds(20), 3),
                records -> records.forEach(producer::send), Clock.systemUTC());
        return new Client(link, TestKafka.poll(List.of(Topics.sessionDown(session)), link::onRecord));
    }

    static HostTensor random(long seed, long... shape) {
        Random r = new Random(seed);
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        float[] data = new float[(int) n];
        for (int i = 0; i < data.length; i++) {
            data[i] = (float) r.nextGaussian();
        }
        return new HostTensor(shape, data);
    }

    static String session(String prefix) {
        return prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
    }

    /**
     * Another replica joining the group gets the same partitions of both up topics as this one keeps, so a session's
     * activations and gradients meet on one replica. (With one consumer per topic, the range assignor ordered each
     * topic's members on its own; the stand-in's client id sorts between the two such consumers' ids,
     * kafka-consumer-activations-up and kafka-consumer-gradients-up, so that layout splits it here.)
     */
    @Test
    void aSecondReplicaInTheGroupGetsTheSamePartitionsOfBothUpTopics() throws Exception {
        try (Admin admin = Admin.create(Map.of("bootstrap.servers",
                EmbeddedKafkaResource.broker().bootstrapServers()))) {
            Map<String, NewPartitions> grow = new HashMap<>();
            admin.describeTopics(List.of(Topics.ACTIVATIONS_UP, Topics.GRADIENTS_UP)).allTopicNames().get()
                    .forEach((name, d) -> {
                        if (d.partitions().size() < 2) {
                            grow.put(name, NewPartitions.increaseTo(2));
                        }
                    });
            if (!grow.isEmpty()) {
                admin.createPartitions(grow).all().get();
            }
        }
        // No commits: the stand-in must not move the service's offsets.
        try (KafkaConsumer<String, byte[]> replica = TestKafka.consumer("server-compute",
                Map.of("client.id", "kafka-consumer-b", "enable.auto.commit", "false"))) {
            replica.subscribe(List.of(Topics.ACTIVATIONS_UP, Topics.GRADIENTS_UP));
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (replica.assignment().size() < 2 && System.nanoTime() < deadline) {
                replica.poll(Duration.ofMillis(200));
            }
            Map<String, List<Integer>> got = new TreeMap<>();
            replica.assignment().forEach(tp -> got.computeIfAbsent(tp.topic(), t -> new ArrayList<>())
                    .add(tp.partition()));
            assertEquals(2, replica.assignment().size(), "one partition of each up topic: " + got);
            assertEquals(got.get(Topics.ACTIVATIONS_UP), got.get(Topics.GRADIENTS_UP),
                    "the same partitions of both topics: " + got);
        }
    }

    @Test
    void forwardAndBackwardThroughTheServiceEqualTheBackboneComputedHere() throws Exception {
        String session = session("rt");
        Split split = Split.of(k, TinyModels.CONFIG);
        HostTensor hIn = random(1, 2, 5, TinyModels.CONFIG.hiddenSize());
        HostTensor gradOut = random(2, 2, 5, TinyModels.CONFIG.hiddenSize());
        long[] lengths = {5, 3};

        HostTensor remoteOut;
        HostTensor remoteGrad;
        try (Client c = client(session)) {
            c.link().start(System.currentTimeMillis(), SplitProtocol.TRAIN,
                        KnownDefence.NONE);
            remoteOut = c.link().forward(0, hIn, lengths, true);
            remoteGrad = c.link().backward(0, gradOut);
        }
        HostTensor localOut;
        HostTensor localGrad;
        try (OptModel trunk = OptModel.fromTensors(TinyModels.CONFIG, TinyModels.weights(split.backbone()));
             BackboneServer local = new BackboneServer(trunk, split, 2)) {
            localOut = local.forward(session, 0, hIn, lengths, true);
            localGrad = local.backward(session, 0, gradOut);
        }
        assertArrayEquals(localOut.shape(), remoteOut.shape());
        assertArrayEquals(localOut.data(), remoteOut.data(), 1e-5f);
        assertArrayEquals(hIn.shape(), remoteGrad.shape());
        assertArrayEquals(localGrad.data(), remoteGrad.data(), 1e-5f);

        given().auth().oauth2(operatorToken).get("/sessions").then().statusCode(200)
                .body("sessions.'" + session + "'.messagesIn", equalTo(3))
                .body("sessions.'" + session + "'.messagesOut", equalTo(2))
                .body("sessions.'" + session + "'.restarts", equalTo(1))
                .body("sessions.'" + session + "'.bytesIn", greaterThan(0));
        given().get("/q/metrics").then().statusCode(200)
                .body(containsString("gt_server_bytes_in_total{session=\"" + session + "\"}"))
                .body(containsString("gt_server_compute_millis_total{session=\"" + session + "\"}"))
                .body(containsString("gt_server_dead_letters_total{reason=\"BAD_MAC\"}"));
    }

    @Test
    void aForgedRecordIsDeadLetteredAndTheNextGoodOneStillAnswered() throws Exception {
        String session = session("dl");
        List<ConsumerRecord<String, byte[]>> deadLetters = new CopyOnWriteArrayList<>();
        try (Client c = client(session);
             AutoCloseable dlq = TestKafka.poll(List.of(Topics.DEAD_LETTER), r -> {
                 if (session.equals(r.key())) {
                     deadLetters.add(r);
                 }
             })) {
            // Signed with a key that is not the session's: what a party without the master secret can make.
            SessionKey forgedKey = new SessionKey(session, new byte[32]);
            TensorEventWriter forger = new TensorEventWriter("forger", forgedKey, LIMITS);
            for (ProducerRecord<String, byte[]> r : forger.records(Topics.ACTIVATIONS_UP, forger.opaqueEvent(
                    EventKind.CONTROL, System.currentTimeMillis(), 0, new byte[0]))) {
                producer.send(r);
            }
            producer.send(new ProducerRecord<>(Topics.ACTIVATIONS_UP, session, "not an event".getBytes(
                    StandardCharsets.UTF_8)));

            c.link().start(System.currentTimeMillis(), SplitProtocol.TRAIN,
                        KnownDefence.NONE);
            HostTensor hIn = random(3, 1, 4, TinyModels.CONFIG.hiddenSize());
            HostTensor out = c.link().forward(0, hIn, new long[] {4}, false);
            assertArrayEquals(hIn.shape(), out.shape());

            long deadline = System.currentTimeMillis() + 20_000;
            while (deadLetters.size() < 2 && System.currentTimeMillis() < deadline) {
                Thread.sleep(50);
            }
        }
        assertEquals(2, deadLetters.size(), "dead letters of " + session);
        assertEquals(RejectReason.BAD_MAC.name(), header(deadLetters.get(0), DeadLetters.REASON));
        assertEquals(RejectReason.MISSING_HEADER.name(), header(deadLetters.get(1), DeadLetters.REASON));
        assertEquals(Topics.ACTIVATIONS_UP, header(deadLetters.get(0), DeadLetters.SOURCE_TOPIC));
        given().auth().oauth2(operatorToken).get("/sessions").then().statusCode(200)
                .body("deadLetters.BAD_MAC", greaterThan(0))
                .body("sessions.'" + session + "'.messagesOut", equalTo(1));
        // A session's owner sees its own counters only: no other tenant's session, no dead-letter totals.
        given().auth().oauth2(OwnerToken.of(SessionKeys.fromHex(masterKey).forSession(session))).get("/sessions")
                .then().statusCode(200)
                .body("sessions.keySet()", equalTo(java.util.Set.of(session)))
                .body("deadLetters.size()", equalTo(0));
        given().get("/sessions").then().statusCode(401).body("status", equalTo(401));
    }

    /**
     * Both CloudEvents poison records on both up topics: once they stopped the consumer for good (SmallRye parsed
     * their CloudEvents headers before our verifier saw them). Now each is dead-lettered, the group's offsets move
     * past it, the service stays UP and the next session is answered.
     */
    @Test
    void cloudEventPoisonIsDeadLetteredCommittedPastAndTheConsumerGoesOn() throws Exception {
        String session = session("ce");
        List<ConsumerRecord<String, byte[]>> deadLetters = new CopyOnWriteArrayList<>();
        Map<org.apache.kafka.common.TopicPartition, Long> poisonOffsets = new HashMap<>();
        try (Client c = client(session);
             AutoCloseable dlq = TestKafka.poll(List.of(Topics.DEAD_LETTER), r -> {
                 if (session.equals(r.key())) {
                     deadLetters.add(r);
                 }
             })) {
            for (ProducerRecord<String, byte[]> r : HostileRecords.cloudEventPoison(
                    List.of(Topics.ACTIVATIONS_UP, Topics.GRADIENTS_UP), session)) {
                var at = producer.send(r).get();
                poisonOffsets.merge(new org.apache.kafka.common.TopicPartition(at.topic(), at.partition()),
                        at.offset(), Math::max);
            }
            c.link().start(System.currentTimeMillis(), SplitProtocol.TRAIN, KnownDefence.NONE);
            HostTensor hIn = random(4, 1, 3, TinyModels.CONFIG.hiddenSize());
            assertArrayEquals(hIn.shape(), c.link().forward(0, hIn, new long[] {3}, false).shape());
            long deadline = System.currentTimeMillis() + 20_000;
            while (deadLetters.size() < 4 && System.currentTimeMillis() < deadline) {
                Thread.sleep(50);
            }
        }
        assertEquals(4, deadLetters.size(), "dead letters of " + session);
        deadLetters.forEach(d -> assertEquals(RejectReason.MISSING_HEADER.name(), header(d, DeadLetters.REASON)));
        given().get("/q/health").then().statusCode(200).body("status", equalTo("UP"));
        try (Admin admin = Admin.create(Map.of("bootstrap.servers",
                EmbeddedKafkaResource.broker().bootstrapServers()))) {
            long deadline = System.currentTimeMillis() + 30_000;
            Map<org.apache.kafka.common.TopicPartition, Long> committed = Map.of();
            while (System.currentTimeMillis() < deadline) {
                committed = new HashMap<>();
                for (var e : admin.listConsumerGroupOffsets("server-compute").partitionsToOffsetAndMetadata().get()
                        .entrySet()) {
                    committed.put(e.getKey(), e.getValue() == null ? -1 : e.getValue().offset());
                }
                Map<org.apache.kafka.common.TopicPartition, Long> seen = committed;
                if (poisonOffsets.entrySet().stream().allMatch(p -> seen.getOrDefault(p.getKey(), -1L) > p.getValue())) {
                    return;
                }
                Thread.sleep(200);
            }
            assertTrue(false, "the group's offsets " + committed + " never passed the poison at " + poisonOffsets);
        }
    }

    @Test
    void readyOnceTheBackboneIsLoaded() {
        given().get("/q/health/ready").then().statusCode(200)
                .body("status", equalTo("UP"))
                .body(containsString("backbone"));
        given().get("/q/openapi").then().statusCode(200).body(containsString("/sessions"));
    }

    static String header(ConsumerRecord<String, byte[]> r, String name) {
        var h = r.headers().lastHeader(name);
        assertTrue(h != null, "header " + name + " missing");
        return new String(h.value(), StandardCharsets.UTF_8);
    }
}
