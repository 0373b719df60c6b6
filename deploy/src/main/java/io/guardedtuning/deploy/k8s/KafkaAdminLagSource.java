package io.guardedtuning.deploy.k8s;

import java.time.Duration;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ListOffsetsResult.ListOffsetsResultInfo;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

/** Consumer lag from a Kafka admin endpoint: end offset minus committed offset, per partition, summed. */
public final class KafkaAdminLagSource implements ConsumerLagSource, AutoCloseable {

    private static final Duration CALL_TIMEOUT = Duration.ofSeconds(15);

    private final Admin admin;

    /** {@code clientSettings} carries security settings (SASL, TLS) for the admin client; may be empty. */
    public KafkaAdminLagSource(String bootstrapServers, Properties clientSettings) {
        Properties settings = new Properties();
        settings.putAll(clientSettings);
        settings.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        settings.putIfAbsent(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000");
        settings.putIfAbsent(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, Long.toString(CALL_TIMEOUT.toMillis()));
        this.admin = Admin.create(settings);
    }

    @Override
    public Map<String, Long> lagByGroup(Collection<String> groups) {
        Map<String, Long> lag = new LinkedHashMap<>();
        for (String group : groups) {
            lag.put(group, lagOf(group));
        }
        return lag;
    }

    private long lagOf(String group) {
        try {
            Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets(group)
                    .partitionsToOffsetAndMetadata().get(CALL_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            Map<TopicPartition, OffsetSpec> latest = committed.keySet().stream()
                    .collect(Collectors.toMap(partition -> partition, partition -> OffsetSpec.latest()));
            Map<TopicPartition, ListOffsetsResultInfo> ends = admin.listOffsets(latest).all()
                    .get(CALL_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            long total = 0;
            for (Map.Entry<TopicPartition, OffsetAndMetadata> entry : committed.entrySet()) {
                if (entry.getValue() != null) {
                    total += Math.max(0, ends.get(entry.getKey()).offset() - entry.getValue().offset());
                }
            }
            return total;
        } catch (InterruptedException interrupted) {
            Thread.currentThread().interrupt();
            throw new K8sOperationException("interrupted while reading the lag of consumer group " + group);
        } catch (ExecutionException | TimeoutException failure) {
            Throwable cause = failure.getCause() == null ? failure : failure.getCause();
            throw new K8sOperationException("cannot read the lag of consumer group " + group + ": " + cause.getMessage(),
                    cause);
        }
    }

    @Override
    public void close() {
        admin.close(Duration.ofSeconds(5));
    }
}
