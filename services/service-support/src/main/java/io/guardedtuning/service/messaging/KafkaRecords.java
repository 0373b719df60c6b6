package io.guardedtuning.service.messaging;

import org.apache.kafka.clients.consumer.ConsumerRecord;

import java.nio.charset.StandardCharsets;

/** Conversions for records that SmallRye Reactive Messaging hands to {@code @Incoming} methods. */
public final class KafkaRecords {

    private KafkaRecords() {
    }

    /**
     * The record with its serialized sizes filled in. SmallRye rebuilds a {@link ConsumerRecord} parameter from the
     * message's metadata (topic, partition, offset, key, value, headers) and leaves the sizes unknown (-1); the
     * protocol meters bytes by {@link ConsumerRecord#serializedValueSize()}, which for a byte[] value is its length.
     */
    public static ConsumerRecord<String, byte[]> withSizes(ConsumerRecord<String, byte[]> r) {
        int keySize = r.key() == null ? ConsumerRecord.NULL_SIZE
                : r.key().getBytes(StandardCharsets.UTF_8).length;
        int valueSize = r.value() == null ? ConsumerRecord.NULL_SIZE : r.value().length;
        return new ConsumerRecord<>(r.topic(), r.partition(), r.offset(), r.timestamp(), r.timestampType(), keySize,
                valueSize, r.key(), r.value(), r.headers(), r.leaderEpoch());
    }
}
