package io.guardedtuning.wire;

import java.nio.charset.StandardCharsets;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;

/** Builds dead-letter records: the original key, headers and payload unchanged, plus why and where from. */
public final class DeadLetters {

    public static final String REASON = "gt_dlq_reason";
    public static final String DETAIL = "gt_dlq_detail";
    public static final String SOURCE_TOPIC = "gt_dlq_topic";
    public static final String SOURCE_PARTITION = "gt_dlq_partition";
    public static final String SOURCE_OFFSET = "gt_dlq_offset";

    private DeadLetters() {
    }

    public static ProducerRecord<String, byte[]> record(String deadLetterTopic, ConsumerRecord<String, byte[]> original,
                                                        Verdict.Rejected rejection) {
        Headers headers = new RecordHeaders();
        for (Header h : original.headers()) {
            headers.add(h.key(), h.value());
        }
        put(headers, REASON, rejection.reason().name());
        put(headers, DETAIL, rejection.detail());
        put(headers, SOURCE_TOPIC, original.topic());
        put(headers, SOURCE_PARTITION, Integer.toString(original.partition()));
        put(headers, SOURCE_OFFSET, Long.toString(original.offset()));
        return new ProducerRecord<>(deadLetterTopic, null, original.key(), original.value(), headers);
    }

    private static void put(Headers headers, String name, String value) {
        headers.add(name, value.getBytes(StandardCharsets.UTF_8));
    }
}
