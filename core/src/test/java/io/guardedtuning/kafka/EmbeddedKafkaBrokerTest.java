package io.guardedtuning.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.guardedtuning.wire.WireLimits;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;

class EmbeddedKafkaBrokerTest {

    @Test
    void restartOnTheSameDataDirectoryKeepsRecords() throws Exception {
        WireLimits limits = WireLimits.chunkedDefaults();
        try (EmbeddedKafkaBroker broker = new EmbeddedKafkaBroker(Files.createTempDirectory("gt-kafka-restart-")).start()) {
            broker.createTopics(limits.topicConfig(), "kept");
            try (KafkaProducer<String, byte[]> producer = KafkaWireTest.producer(broker, limits)) {
                producer.send(new ProducerRecord<>("kept", "k", "before".getBytes(StandardCharsets.UTF_8))).get();
            }
            broker.restart();
            List<String> values = new ArrayList<>();
            try (KafkaConsumer<String, byte[]> consumer = KafkaWireTest.consumer(broker, limits, "kept")) {
                long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
                while (values.isEmpty() && System.nanoTime() < deadline) {
                    for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                        values.add(new String(r.value(), StandardCharsets.UTF_8));
                    }
                }
            }
            assertEquals(List.of("before"), values);
        }
    }
}
