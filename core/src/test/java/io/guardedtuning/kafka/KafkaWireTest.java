package io.guardedtuning.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.guardedtuning.tensor.HostTensor;
import io.guardedtuning.wire.CodecFormat;
import io.guardedtuning.wire.CodecSpec;
import io.guardedtuning.wire.DeadLetters;
import io.guardedtuning.wire.EventKind;
import io.guardedtuning.wire.RejectReason;
import io.guardedtuning.wire.SessionKey;
import io.guardedtuning.wire.TensorEventVerifier;
import io.guardedtuning.wire.TensorEventWriter;
import io.guardedtuning.wire.Verdict;
import io.guardedtuning.wire.WireLimits;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(EmbeddedKafkaExtension.class)
class KafkaWireTest {

    private static final WireLimits LIMITS = WireLimits.chunkedDefaults();

    static KafkaProducer<String, byte[]> producer(EmbeddedKafkaBroker broker, WireLimits limits) {
        Map<String, Object> config = new HashMap<>(limits.producerProperties());
        config.put("bootstrap.servers", broker.bootstrapServers());
        return new KafkaProducer<>(config, new StringSerializer(), new ByteArraySerializer());
    }

    static KafkaConsumer<String, byte[]> consumer(EmbeddedKafkaBroker broker, WireLimits limits, String topic) {
        Map<String, Object> config = new HashMap<>(limits.consumerProperties());
        config.put("bootstrap.servers", broker.bootstrapServers());
        config.put("group.id", "test-" + UUID.randomUUID());
        KafkaConsumer<String, byte[]> consumer =
                new KafkaConsumer<>(config, new StringDeserializer(), new ByteArrayDeserializer());
        consumer.subscribe(List.of(topic));
        return consumer;
    }

    static HostTensor activation(long[] shape, long seed) {
        Random rnd = new Random(seed);
        float[] data = new float[(int) HostTensor.numel(shape)];
        for (int i = 0; i < data.length; i++) {
            data[i] = (float) rnd.nextGaussian();
        }
        return new HostTensor(shape, data);
    }

    @Test
    void a32MiBActivationComesBackBitExactThroughChunks(EmbeddedKafkaBroker broker) throws Exception {
        String topic = "activations-up-" + UUID.randomUUID();
        broker.createTopics(LIMITS.topicConfig(), topic);
        SessionKey session = SessionKey.random("session-big");
        TensorEventWriter writer = new TensorEventWriter("client", session, LIMITS);
        HostTensor tensor = activation(new long[] {8, 512, 2048}, 1); // OPT-1.3B hidden size, 32 MiB fp32
        List<ProducerRecord<String, byte[]>> records = writer.records(topic,
                writer.tensorEvent(EventKind.ACTIVATION_UP, 1, 0, tensor, CodecSpec.of(CodecFormat.FP32)));
        assertEquals(33, records.size());
        try (KafkaProducer<String, byte[]> producer = producer(broker, LIMITS)) {
            for (ProducerRecord<String, byte[]> r : records) {
                producer.send(r);
            }
            producer.flush();
        }
        TensorEventVerifier verifier = new TensorEventVerifier(session, EnumSet.of(EventKind.ACTIVATION_UP), LIMITS,
                Clock.systemUTC());
        HostTensor received = null;
        try (KafkaConsumer<String, byte[]> consumer = consumer(broker, LIMITS, topic)) {
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (received == null && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    Verdict verdict = verifier.verify(r);
                    assertTrue(!(verdict instanceof Verdict.Rejected), verdict.toString());
                    if (verdict instanceof Verdict.Accepted accepted) {
                        received = accepted.tensor().orElseThrow();
                    }
                }
            }
        }
        assertEquals(tensor, received); // Arrays.equals on float[]: bit-exact up to NaN canonicalisation
    }

    @Test
    void aMalformedEventGoesToTheDeadLetterTopicAndTheNextGoodOneStillArrives(EmbeddedKafkaBroker broker) {
        String topic = "gradients-down-" + UUID.randomUUID();
        String deadLetterTopic = topic + ".dlq";
        broker.createTopics(LIMITS.topicConfig(), topic, deadLetterTopic);
        SessionKey session = SessionKey.random("session-dlq");
        TensorEventWriter writer = new TensorEventWriter("server", session, LIMITS);
        ProducerRecord<String, byte[]> good1 = writer.records(topic, writer.tensorEvent(EventKind.GRADIENT_DOWN, 1, 0,
                activation(new long[] {4, 16}, 2), CodecSpec.gradients(8))).get(0);
        ProducerRecord<String, byte[]> good2 = writer.records(topic, writer.tensorEvent(EventKind.GRADIENT_DOWN, 2, 0,
                activation(new long[] {4, 16}, 3), CodecSpec.gradients(8))).get(0);
        byte[] tampered = good2.value().clone();
        tampered[tampered.length - 1] ^= 1;
        ProducerRecord<String, byte[]> bad = new ProducerRecord<>(topic, null, good2.key(), tampered, good2.headers());

        try (KafkaProducer<String, byte[]> producer = producer(broker, LIMITS);
             KafkaConsumer<String, byte[]> consumer = consumer(broker, LIMITS, topic);
             KafkaConsumer<String, byte[]> deadLetters = consumer(broker, LIMITS, deadLetterTopic)) {
            producer.send(good1);
            producer.send(bad);
            producer.send(good2);
            producer.flush();

            TensorEventVerifier verifier = new TensorEventVerifier(session, EnumSet.of(EventKind.GRADIENT_DOWN),
                    LIMITS, Clock.systemUTC());
            List<Long> acceptedSteps = new ArrayList<>();
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (acceptedSteps.size() < 2 && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    Verdict verdict = verifier.verify(r);
                    if (verdict instanceof Verdict.Rejected rejected) {
                        producer.send(DeadLetters.record(deadLetterTopic, r, rejected));
                    } else if (verdict instanceof Verdict.Accepted accepted) {
                        acceptedSteps.add(accepted.event().metadata().step());
                    }
                }
                consumer.commitSync();
            }
            producer.flush();
            assertEquals(List.of(1L, 2L), acceptedSteps);
            assertEquals(1L, verifier.rejectionCounts().get(RejectReason.BAD_MAC));

            List<ConsumerRecord<String, byte[]>> dead = new ArrayList<>();
            deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (dead.isEmpty() && System.nanoTime() < deadline) {
                deadLetters.poll(Duration.ofMillis(200)).forEach(dead::add);
            }
            assertEquals(1, dead.size());
            ConsumerRecord<String, byte[]> d = dead.get(0);
            assertEquals(0, d.value().length, "the refused payload is named by its digest, not copied");
            assertEquals(DeadLetters.sha256(tampered), new String(d.headers().lastHeader(DeadLetters.PAYLOAD_DIGEST)
                    .value(), StandardCharsets.UTF_8));
            assertEquals("BAD_MAC", new String(d.headers().lastHeader(DeadLetters.REASON).value(), StandardCharsets.UTF_8));
            assertEquals(topic, new String(d.headers().lastHeader(DeadLetters.SOURCE_TOPIC).value(), StandardCharsets.UTF_8));
            assertEquals("1", new String(d.headers().lastHeader(DeadLetters.SOURCE_OFFSET).value(), StandardCharsets.UTF_8));
        }
    }
}
