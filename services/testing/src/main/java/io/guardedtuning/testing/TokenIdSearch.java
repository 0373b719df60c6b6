package io.guardedtuning.testing;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.header.Header;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Looks for a client's token ids in a Kafka record, for tests that check private text never reaches a
 * provider-side topic: as JSON-style text ("12,7,305,...", how every payload of this project writes ids) in the
 * key, headers or value.
 */
public final class TokenIdSearch {

    private TokenIdSearch() {
    }

    /** {@code count} ids of {@code row} from {@code from}, comma-joined as JSON writes them. */
    public static String json(int[] row, int from, int count) {
        return Arrays.stream(row, from, Math.min(row.length, from + count)).mapToObj(Integer::toString)
                .collect(Collectors.joining(","));
    }

    /** What {@link #onProviderSideTopics} read: records seen, and "topic: needle" for each record holding one. */
    public record Findings(long records, List<String> found) {
    }

    /**
     * Reads every topic but the sessions' own ({@code gt.session.*}) for {@code window} with {@code consumer} (closed
     * here) and lists the records that hold one of {@code needles}.
     */
    public static Findings onProviderSideTopics(KafkaConsumer<String, byte[]> consumer, List<String> needles,
                                                Duration window) {
        long records = 0;
        List<String> found = new ArrayList<>();
        try (consumer) {
            consumer.subscribe(Pattern.compile("gt\\.(?!session\\.).*"));
            long deadline = System.nanoTime() + window.toNanos();
            while (System.nanoTime() < deadline) {
                for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    records++;
                    String text = text(r);
                    needles.stream().filter(text::contains).findFirst().ifPresent(n -> found.add(r.topic() + ": " + n));
                }
            }
        }
        return new Findings(records, found);
    }

    /** Key, headers and value of the record as one text. */
    public static String text(ConsumerRecord<String, byte[]> r) {
        StringBuilder out = new StringBuilder(String.valueOf(r.key())).append('\n');
        for (Header h : r.headers()) {
            out.append(h.key()).append('=').append(new String(h.value(), StandardCharsets.UTF_8)).append('\n');
        }
        if (r.value() != null) {
            out.append(new String(r.value(), StandardCharsets.ISO_8859_1));
        }
        return out.toString();
    }
}
