package io.guardedtuning.deploy.k8s;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.guardedtuning.kafka.EmbeddedKafkaBroker;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Lag as `gt k8s status` reports it, read from a real (embedded KRaft) broker's offsets. */
class KafkaAdminLagSourceTest {

    private static final String ACTIVATIONS = "lag.activations." + UUID.randomUUID();
    private static final String GRADIENTS = "lag.gradients." + UUID.randomUUID();

    private static EmbeddedKafkaBroker broker;

    @BeforeAll
    static void startBrokerWithRecords() throws Exception {
        broker = EmbeddedKafkaBroker.inTemporaryDirectory().start();
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
                broker.bootstrapServers()))) {
            admin.createTopics(List.of(new NewTopic(ACTIVATIONS, 3, (short) 1), new NewTopic(GRADIENTS, 1, (short) 1)))
                    .all().get();
        }
        produce(ACTIVATIONS, 0, 5);
        produce(ACTIVATIONS, 1, 3);
        produce(GRADIENTS, 0, 4);
    }

    @AfterAll
    static void stopBroker() {
        broker.close();
    }

    @Test
    void lagIsEndOffsetMinusCommittedOffsetSummedOverPartitionsAndTopics() {
        // server-compute: 3 of 5 left on partition 0, partition 1 caught up, 1 of 4 gradients left.
        commit("server-compute", Map.of(new TopicPartition(ACTIVATIONS, 0), 2L, new TopicPartition(ACTIVATIONS, 1), 3L,
                new TopicPartition(GRADIENTS, 0), 3L));
        // attack-audit has committed the start of partition 0 only: all 5 of its records are behind.
        commit("attack-audit", Map.of(new TopicPartition(ACTIVATIONS, 0), 0L));

        try (KafkaAdminLagSource lag = new KafkaAdminLagSource(broker.bootstrapServers(), new Properties())) {
            assertEquals(Map.of("server-compute", 4L, "attack-audit", 5L, "never-consumed", 0L),
                    lag.lagByGroup(List.of("server-compute", "attack-audit", "never-consumed")));
        }
    }

    private static void produce(String topic, int partition, int records) throws Exception {
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers()),
                new StringSerializer(), new StringSerializer())) {
            for (int i = 0; i < records; i++) {
                producer.send(new ProducerRecord<>(topic, partition, "session-" + i, "step " + i)).get();
            }
        }
    }

    /** Commits as a consumer of the group does after processing records up to (not including) each offset. */
    private static void commit(String group, Map<TopicPartition, Long> offsets) {
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers(),
                ConsumerConfig.GROUP_ID_CONFIG, group,
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false"),
                new StringDeserializer(), new StringDeserializer())) {
            consumer.assign(offsets.keySet());
            consumer.commitSync(offsets.entrySet().stream().collect(Collectors.toMap(
                    Map.Entry::getKey, entry -> new OffsetAndMetadata(entry.getValue()))));
        }
    }
}
