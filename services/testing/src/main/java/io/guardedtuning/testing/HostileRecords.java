package io.guardedtuning.testing;

import io.guardedtuning.session.SplitProtocol;
import io.guardedtuning.tensor.HostTensor;
import io.guardedtuning.wire.CodecFormat;
import io.guardedtuning.wire.CodecSpec;
import io.guardedtuning.wire.EventKind;
import io.guardedtuning.wire.SessionKey;
import io.guardedtuning.wire.TensorEventWriter;
import io.guardedtuning.wire.WireHeaders;
import io.guardedtuning.wire.WireLimits;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;

/**
 * Records a hostile tenant of the shared cluster sends (docs/reliability.md, "Hostile input"): holding the key of
 * its own session only, it writes to every topic it can reach. Each method returns the record; sending is the
 * caller's.
 */
public final class HostileRecords {

    /** The chunk count of the record that once pinned ~572 MB per receiver. */
    public static final int HUGE_CHUNK_COUNT = 150_000_000;

    private static final WireLimits LIMITS = WireLimits.chunkedDefaults();

    private HostileRecords() {
    }

    /**
     * Binary-mode CloudEvents headers with a time that is no time: a framework that parses CloudEvents before the
     * service's verifier fails on it (and with it, the consumer). No key needed.
     */
    public static ProducerRecord<String, byte[]> badCloudEventTime(String topic, String key) {
        Headers h = new RecordHeaders();
        put(h, "ce_specversion", "1.0");
        put(h, "ce_id", "1");
        put(h, "ce_source", "x");
        put(h, "ce_type", "t");
        put(h, "ce_time", "yesterday");
        return new ProducerRecord<>(topic, null, key, "x".getBytes(StandardCharsets.UTF_8), h);
    }

    /** A structured-mode CloudEvent whose value is not JSON. */
    public static ProducerRecord<String, byte[]> structuredCloudEventNotJson(String topic, String key) {
        Headers h = new RecordHeaders();
        put(h, "content-type", "application/cloudevents+json");
        return new ProducerRecord<>(topic, null, key, "not json {".getBytes(StandardCharsets.UTF_8), h);
    }

    /**
     * A 1000-byte record, correctly signed with the sender's own session key, declaring {@code chunks} chunks of
     * that many bytes in all: a receiver that sizes its bookkeeping by the declared count allocates for all of them.
     */
    public static ProducerRecord<String, byte[]> declaringChunks(String topic, SessionKey key, EventKind kind,
                                                                 int chunks) {
        TensorEventWriter writer = new TensorEventWriter("hostile", key, LIMITS);
        ProducerRecord<String, byte[]> r = writer.records(topic, writer.opaqueEvent(kind, 1, 0, new byte[1000]))
                .get(0);
        return resigned(r, key, Map.of(WireHeaders.CHUNK_COUNT, Integer.toString(chunks),
                WireHeaders.TOTAL_SIZE, Integer.toString(chunks), WireHeaders.CHUNK_INDEX, "0"));
    }

    /** A correctly signed activation whose shape's element count overflows a long. */
    public static ProducerRecord<String, byte[]> overflowingShape(String topic, SessionKey key) {
        TensorEventWriter writer = new TensorEventWriter("hostile", key, LIMITS);
        ProducerRecord<String, byte[]> r = writer.records(topic, writer.tensorEvent(EventKind.ACTIVATION_UP, 1, 0,
                new HostTensor(new long[] {1, 2}, new float[2]), CodecSpec.of(CodecFormat.FP32))).get(0);
        return resigned(r, key, Map.of(WireHeaders.SHAPE, "4294967296,4294967296,4294967296"));
    }

    /**
     * A session start on a fresh session id, complete but signed with a key nobody issued for that session: what
     * a flood of them costs a receiver is the test of whether it keeps state before verifying.
     */
    public static ProducerRecord<String, byte[]> unsignedStart(String topic, String session) {
        SessionKey guessed = SessionKey.random(session);
        TensorEventWriter writer = new TensorEventWriter("hostile", guessed, LIMITS);
        return writer.records(topic, writer.opaqueEvent(EventKind.CONTROL, System.currentTimeMillis(), 0, 0,
                Map.of(SplitProtocol.ACTION, SplitProtocol.START), new byte[0])).get(0);
    }

    /** A copy of {@code r} with some headers replaced, signed again with {@code key} (so only those edits count). */
    public static ProducerRecord<String, byte[]> resigned(ProducerRecord<String, byte[]> r, SessionKey key,
                                                          Map<String, String> replaced) {
        Headers h = new RecordHeaders(r.headers().toArray());
        replaced.forEach((name, value) -> {
            h.remove(name);
            put(h, name, value);
        });
        h.remove(WireHeaders.HMAC);
        h.add(WireHeaders.HMAC, Base64.getEncoder().encode(WireHeaders.mac(key, h, r.value())));
        return new ProducerRecord<>(r.topic(), null, r.key(), r.value(), h);
    }

    /** Both CloudEvents poison records on each topic. */
    public static List<ProducerRecord<String, byte[]>> cloudEventPoison(List<String> topics, String key) {
        List<ProducerRecord<String, byte[]>> out = new ArrayList<>();
        for (String topic : topics) {
            out.add(badCloudEventTime(topic, key));
            out.add(structuredCloudEventNotJson(topic, key));
        }
        return out;
    }

    private static void put(Headers h, String name, String value) {
        h.add(name, value.getBytes(StandardCharsets.UTF_8));
    }
}
