package io.guardedtuning.audit.messaging;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.guardedtuning.audit.service.LeakageSeries;
import io.guardedtuning.messaging.Topics;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads the compacted reports topic from the beginning to its current end, so a restarted auditor serves what it
 * found before. The latest record per key wins; an empty value (a tombstone) deletes the series.
 */
public final class ReportHistory {

    private static final Logger LOG = Logger.getLogger(ReportHistory.class);

    private ReportHistory() {
    }

    public static List<LeakageSeries> read(String bootstrapServers, ObjectMapper json, Duration timeout) {
        Map<String, Object> config = Map.of("bootstrap.servers", bootstrapServers, "enable.auto.commit", false,
                "isolation.level", "read_committed");
        Map<String, LeakageSeries> latest = new LinkedHashMap<>();
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(config, new StringDeserializer(),
                new StringDeserializer())) {
            List<TopicPartition> partitions = consumer.partitionsFor(Topics.AUDIT_REPORTS, timeout).stream()
                    .map(p -> new TopicPartition(p.topic(), p.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions, timeout);
            long deadline = System.currentTimeMillis() + timeout.toMillis();
            while (!reachedEnd(consumer, end) && System.currentTimeMillis() < deadline) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
                    if (r.value() == null || r.value().isEmpty()) {
                        latest.remove(r.key());
                        continue;
                    }
                    try {
                        latest.put(r.key(), json.readValue(r.value(), LeakageSeries.class));
                    } catch (IOException e) {
                        LOG.warnf("skipping unreadable report %s at offset %d: %s", r.key(), r.offset(),
                                e.getMessage());
                    }
                }
            }
        }
        return List.copyOf(latest.values());
    }

    private static boolean reachedEnd(KafkaConsumer<?, ?> consumer, Map<TopicPartition, Long> end) {
        return end.entrySet().stream().allMatch(e -> consumer.position(e.getKey()) >= e.getValue());
    }
}
