package io.guardedtuning.wire;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.guardedtuning.messaging.Topics;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.record.TimestampType;
import org.junit.jupiter.api.Test;

class DeadLettersTest {

    private static ConsumerRecord<String, byte[]> consumed(String key, byte[] value, RecordHeaders headers) {
        return new ConsumerRecord<>("gt.audit.scores", 2, 7L, 0L, TimestampType.CREATE_TIME, -1, -1, key, value,
                headers, Optional.empty());
    }

    private static String header(ProducerRecord<String, byte[]> r, String name) {
        Header h = r.headers().lastHeader(name);
        return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }

    /** Everything a dead letter carries, as Kafka counts a record's size (key, value, header names and values). */
    private static long size(ProducerRecord<String, byte[]> r) {
        long bytes = (r.key() == null ? 0 : r.key().getBytes(StandardCharsets.UTF_8).length) + r.value().length;
        for (Header h : r.headers()) {
            bytes += h.key().getBytes(StandardCharsets.UTF_8).length + h.value().length;
        }
        return bytes;
    }

    @Test
    void aRefusedRecordsPayloadNeverReachesItsDeadLetterOnlyItsDigestAndSize() {
        byte[] privateText = "the client's private sentence".getBytes(StandardCharsets.UTF_8);
        RecordHeaders headers = new RecordHeaders();
        headers.add(WireHeaders.KIND, "AUDIT_SCORE".getBytes(StandardCharsets.UTF_8));
        ProducerRecord<String, byte[]> dead = DeadLetters.record(Topics.DEAD_LETTER, consumed("s7", privateText, headers),
                new Verdict.Rejected(RejectReason.BAD_MAC, "no"));

        assertEquals(0, dead.value().length);
        assertEquals("s7", dead.key());
        assertEquals(DeadLetters.sha256(privateText), header(dead, DeadLetters.PAYLOAD_DIGEST));
        assertEquals(Integer.toString(privateText.length), header(dead, DeadLetters.PAYLOAD_SIZE));
        assertEquals("AUDIT_SCORE", header(dead, WireHeaders.KIND), "the record's own headers are kept");
        assertEquals("BAD_MAC", header(dead, DeadLetters.REASON));
        assertEquals("gt.audit.scores", header(dead, DeadLetters.SOURCE_TOPIC));
        assertEquals("2", header(dead, DeadLetters.SOURCE_PARTITION));
        assertEquals("7", header(dead, DeadLetters.SOURCE_OFFSET));
        assertNull(header(dead, DeadLetters.HEADERS_CUT));
        for (Header h : dead.headers()) {
            assertTrue(!new String(h.value(), StandardCharsets.UTF_8).contains("private sentence"), h.key());
        }
    }

    @Test
    void whatARefusedRecordHoldsIsCappedSoItsDeadLetterAlwaysFitsTheProducerLimit() {
        // Near Kafka's 1 MiB record limit in every part an attacker controls: key, many headers, long values.
        RecordHeaders headers = new RecordHeaders();
        for (int i = 0; i < 5000; i++) {
            headers.add("h" + i, new byte[100]);
        }
        headers.add("x".repeat(300_000), new byte[1]);
        headers.add(WireHeaders.SUBJECT, new byte[300_000]);
        String key = "k".repeat(200_000);
        String detail = "header ce_gtkind='" + "\u00e9".repeat(100_000) + "'";
        ProducerRecord<String, byte[]> dead = DeadLetters.record(Topics.DEAD_LETTER,
                consumed(key, new byte[1 << 20], headers), new Verdict.Rejected(RejectReason.MALFORMED_HEADER, detail));

        long limit = WireLimits.chunkedDefaults().maxMessageBytes();
        assertTrue(size(dead) < limit / 8, "dead letter of " + size(dead) + " bytes");
        assertEquals(DeadLetters.MAX_KEY_BYTES, dead.key().length(), "key cut, ending in ...");
        assertEquals(DeadLetters.sha256(key.getBytes(StandardCharsets.UTF_8)), header(dead, DeadLetters.KEY_DIGEST));
        assertTrue(header(dead, DeadLetters.DETAIL).getBytes(StandardCharsets.UTF_8).length
                <= DeadLetters.MAX_DETAIL_BYTES);
        assertEquals(Integer.toString(5000 - DeadLetters.MAX_HEADERS + 2), header(dead, DeadLetters.HEADERS_CUT),
                "headers beyond the first 64 and the over-long name are left out");
        assertEquals(Integer.toString(1 << 20), header(dead, DeadLetters.PAYLOAD_SIZE));
    }
}
