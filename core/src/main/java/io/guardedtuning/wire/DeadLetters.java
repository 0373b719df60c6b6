package io.guardedtuning.wire;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;

/**
 * Builds dead-letter records: why a record was refused, where it came from (topic, partition, offset, key), its
 * headers, and the SHA-256 and size of its payload — never the payload itself, which may hold a client's private
 * data and would reach the dead-letter topic's wider audience. Everything copied from the refused record is capped
 * ({@link #MAX_KEY_BYTES}, {@link #MAX_HEADERS}, {@link #MAX_HEADER_BYTES}, {@link #MAX_DETAIL_BYTES}), so a dead
 * letter stays far below any producer size limit whatever the refused record held.
 */
public final class DeadLetters {

    public static final String REASON = "gt_dlq_reason";
    public static final String DETAIL = "gt_dlq_detail";
    public static final String SOURCE_TOPIC = "gt_dlq_topic";
    public static final String SOURCE_PARTITION = "gt_dlq_partition";
    public static final String SOURCE_OFFSET = "gt_dlq_offset";
    /** The refused record's key when it was longer than {@link #MAX_KEY_BYTES}: its size and SHA-256. */
    public static final String KEY_DIGEST = "gt_dlq_key_sha256";
    public static final String PAYLOAD_SIZE = "gt_dlq_payload_size";
    /** Hex SHA-256 of the refused payload: enough to match it with the sender's copy, nothing to read. */
    public static final String PAYLOAD_DIGEST = "gt_dlq_payload_sha256";
    /** How many of the refused record's headers were left out or cut short by the caps (absent when none). */
    public static final String HEADERS_CUT = "gt_dlq_headers_cut";

    /** Session ids are short; a longer key is cut to this and named by its digest. */
    public static final int MAX_KEY_BYTES = 256;
    /** Copied headers: the wire has about 25, so room for all of a legitimate record's. */
    public static final int MAX_HEADERS = 64;
    /** Per copied header, name and value each. */
    public static final int MAX_HEADER_BYTES = 1024;
    public static final int MAX_DETAIL_BYTES = 1024;

    private DeadLetters() {
    }

    public static ProducerRecord<String, byte[]> record(String deadLetterTopic, ConsumerRecord<String, byte[]> original,
                                                        Verdict.Rejected rejection) {
        Headers headers = new RecordHeaders();
        int copied = 0;
        int cut = 0;
        for (Header h : original.headers()) {
            byte[] value = h.value() == null ? new byte[0] : h.value();
            if (copied == MAX_HEADERS || h.key().getBytes(StandardCharsets.UTF_8).length > MAX_HEADER_BYTES) {
                cut++;
                continue;
            }
            if (value.length > MAX_HEADER_BYTES) {
                value = Arrays.copyOf(value, MAX_HEADER_BYTES);
                cut++;
            }
            headers.add(h.key(), value);
            copied++;
        }
        if (cut > 0) {
            put(headers, HEADERS_CUT, Integer.toString(cut));
        }
        put(headers, REASON, rejection.reason().name());
        put(headers, DETAIL, truncate(rejection.detail(), MAX_DETAIL_BYTES));
        put(headers, SOURCE_TOPIC, original.topic());
        put(headers, SOURCE_PARTITION, Integer.toString(original.partition()));
        put(headers, SOURCE_OFFSET, Long.toString(original.offset()));
        byte[] payload = original.value() == null ? new byte[0] : original.value();
        put(headers, PAYLOAD_SIZE, Integer.toString(payload.length));
        put(headers, PAYLOAD_DIGEST, sha256(payload));
        String key = original.key();
        if (key != null && key.getBytes(StandardCharsets.UTF_8).length > MAX_KEY_BYTES) {
            put(headers, KEY_DIGEST, sha256(key.getBytes(StandardCharsets.UTF_8)));
            key = truncate(key, MAX_KEY_BYTES);
        }
        return new ProducerRecord<>(deadLetterTopic, null, key, new byte[0], headers);
    }

    /** Lower-case hex SHA-256, as in {@link #PAYLOAD_DIGEST}. */
    public static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is mandatory on every Java platform", e);
        }
    }

    /** At most {@code maxBytes} of UTF-8, cut on a character boundary. */
    private static String truncate(String s, int maxBytes) {
        String text = String.valueOf(s);
        if (text.getBytes(StandardCharsets.UTF_8).length <= maxBytes) {
            return text;
        }
        int end = Math.min(text.length(), maxBytes);
        while (end > 0 && text.substring(0, end).getBytes(StandardCharsets.UTF_8).length > maxBytes - 3) {
            end--;
        }
        if (end > 0 && Character.isHighSurrogate(text.charAt(end - 1))) {
            end--;
        }
        return text.substring(0, end) + "...";
    }

    private static void put(Headers headers, String name, String value) {
        headers.add(name, value.getBytes(StandardCharsets.UTF_8));
    }
}
