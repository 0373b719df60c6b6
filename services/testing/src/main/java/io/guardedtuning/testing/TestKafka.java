package io.guardedtuning.testing;

import io.guardedtuning.wire.EventKind;
import io.guardedtuning.wire.WireHeaders;
import io.guardedtuning.wire.WireLimits;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Consumer;
import java.util.regex.Pattern;

/** Plain Kafka clients on {@link EmbeddedKafkaResource#broker()}, with the wire's limits, for test-side peers. */
public final class TestKafka {

    private static final WireLimits LIMITS = WireLimits.chunkedDefaults();

    private TestKafka() {
    }

    public static KafkaConsumer<String, byte[]> consumer(String group) {
        return consumer(group, Map.of());
    }

    /** As {@link #consumer(String)}, with further consumer properties that take precedence. */
    public static KafkaConsumer<String, byte[]> consumer(String group, Map<String, Object> overrides) {
        Map<String, Object> config = new HashMap<>(LIMITS.consumerProperties());
        config.put("bootstrap.servers", EmbeddedKafkaResource.broker().bootstrapServers());
        config.put("group.id", group);
        config.put("auto.offset.reset", "earliest");
        config.putAll(overrides);
        return new KafkaConsumer<>(config, new StringDeserializer(), new ByteArrayDeserializer());
    }

    public static KafkaProducer<String, byte[]> producer() {
        Map<String, Object> config = new HashMap<>(LIMITS.producerProperties());
        config.put("bootstrap.servers", EmbeddedKafkaResource.broker().bootstrapServers());
        return new KafkaProducer<>(config, new StringSerializer(), new ByteArraySerializer());
    }

    /** A thread that hands every record of {@code topics} (from the start) to {@code sink} until closed. */
    public static AutoCloseable poll(List<String> topics, Consumer<ConsumerRecord<String, byte[]>> sink) {
        EmbeddedKafkaResource.broker().createTopics(LIMITS.topicConfig(), topics.toArray(String[]::new));
        var running = new java.util.concurrent.atomic.AtomicBoolean(true);
        Thread thread = new Thread(() -> {
            try (KafkaConsumer<String, byte[]> c = consumer("test-" + UUID.randomUUID())) {
                c.subscribe(topics);
                while (running.get()) {
                    c.poll(Duration.ofMillis(50)).forEach(sink);
                }
            }
        }, "test-poll-" + topics.get(0));
        thread.start();
        return () -> {
            running.set(false);
            thread.join(10_000);
        };
    }

    /** The wire kinds of every record keyed {@code session} on any {@code gt.*} topic, read for {@code millis}. */
    public static List<String> kindsOf(String session, long millis) {
        List<String> kinds = new ArrayList<>();
        try (KafkaConsumer<String, byte[]> c = consumer("inspect-" + UUID.randomUUID())) {
            c.subscribe(Pattern.compile("gt\\..*"));
            long deadline = System.currentTimeMillis() + millis;
            while (System.currentTimeMillis() < deadline) {
                for (ConsumerRecord<String, byte[]> r : c.poll(Duration.ofMillis(200))) {
                    var kind = r.headers().lastHeader(WireHeaders.KIND);
                    if (session.equals(r.key()) && kind != null) {
                        kinds.add(r.topic() + ":" + new String(kind.value(), StandardCharsets.UTF_8));
                    }
                }
            }
        }
        return kinds;
    }

    /** True when a kinds list from {@link #kindsOf} contains {@code kind} on any topic. */
    public static boolean containsKind(List<String> kinds, EventKind kind) {
        return kinds.stream().anyMatch(k -> k.endsWith(":" + kind.name()));
    }
}
