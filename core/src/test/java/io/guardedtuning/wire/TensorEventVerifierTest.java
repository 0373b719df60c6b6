package io.guardedtuning.wire;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.guardedtuning.tensor.HostTensor;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.record.TimestampType;
import org.junit.jupiter.api.Test;

class TensorEventVerifierTest {

    private static final WireLimits LIMITS = new WireLimits(4096, 1 << 20, 4, 2 << 20, Duration.ofSeconds(30));
    private final SessionKey session = SessionKey.random("session-a");
    private final SessionKey otherSession = SessionKey.random("session-b");
    private final TensorEventWriter client = new TensorEventWriter("client-1", session, LIMITS);
    private final TensorEventVerifier server = new TensorEventVerifier(session,
            EnumSet.of(EventKind.ACTIVATION_UP, EventKind.CONTROL), LIMITS, Clock.systemUTC());

    private static HostTensor activation(int rows, int cols, long seed) {
        Random rnd = new Random(seed);
        float[] data = new float[rows * cols];
        for (int i = 0; i < data.length; i++) {
            data[i] = (float) rnd.nextGaussian();
        }
        return new HostTensor(new long[] {rows, cols}, data);
    }

    private List<ProducerRecord<String, byte[]>> send(long step, HostTensor t, CodecSpec codec) {
        return client.records("up", client.tensorEvent(EventKind.ACTIVATION_UP, step, 0, t, codec));
    }

    private Verdict offer(ProducerRecord<String, byte[]> r) {
        return server.verify(r.key(), r.headers(), r.value());
    }

    private Verdict offerAll(List<ProducerRecord<String, byte[]>> records) {
        Verdict last = null;
        for (ProducerRecord<String, byte[]> r : records) {
            last = offer(r);
        }
        return last;
    }

    private static void assertRejected(RejectReason reason, Verdict verdict) {
        assertEquals(reason, assertInstanceOf(Verdict.Rejected.class, verdict).reason(), verdict.toString());
    }

    /** Copies a record with edited headers, re-signed with {@code key}: an authentic sender making a mistake. */
    private static ProducerRecord<String, byte[]> edited(ProducerRecord<String, byte[]> r, SessionKey key,
                                                         Consumer<Headers> edit) {
        Headers headers = new RecordHeaders(r.headers().toArray());
        edit.accept(headers);
        headers.remove(WireHeaders.HMAC);
        headers.add(WireHeaders.HMAC, Base64.getEncoder().encode(WireHeaders.mac(key, headers, r.value())));
        return new ProducerRecord<>(r.topic(), null, r.key(), r.value(), headers);
    }

    private static Consumer<Headers> set(String name, String value) {
        return h -> {
            h.remove(name);
            h.add(name, value.getBytes(StandardCharsets.UTF_8));
        };
    }

    @Test
    void acceptsChunkedQuantisedActivationAndDecodesIt() {
        HostTensor t = activation(32, 96, 1);
        CodecSpec codec = CodecSpec.activations(8).withCompression(PayloadCompression.ZSTD);
        List<ProducerRecord<String, byte[]>> records = send(1, t, codec);
        List<ProducerRecord<String, byte[]>> all = send(2, activation(64, 256, 2), CodecSpec.of(CodecFormat.FP32));
        assertEquals(1, records.size());
        assertEquals(16, all.size(), "64 KiB of fp32 in 4 KiB chunks");
        Verdict.Accepted accepted = assertInstanceOf(Verdict.Accepted.class, offer(records.get(0)));
        HostTensor expected = codec.newCodec().decode(t.shape(), codec.newCodec().encode(t));
        assertEquals(Optional.of(expected), accepted.tensor());
        for (int i = 0; i < all.size() - 1; i++) {
            assertInstanceOf(Verdict.Pending.class, offer(all.get(i)));
        }
        Verdict.Accepted whole = assertInstanceOf(Verdict.Accepted.class, offer(all.get(all.size() - 1)));
        assertEquals(activation(64, 256, 2), whole.tensor().orElseThrow());
        assertEquals("session-a", all.get(0).key());
    }

    @Test
    void tamperedWrongKeyOtherSessionAndReplayAreRejected() {
        ProducerRecord<String, byte[]> good = send(5, activation(4, 8, 3), CodecSpec.of(CodecFormat.FP16)).get(0);

        byte[] flipped = good.value().clone();
        flipped[3] ^= 0x10;
        assertRejected(RejectReason.BAD_MAC, offer(new ProducerRecord<>("up", null, good.key(), flipped, good.headers())));

        SessionKey impostor = new SessionKey("session-a", SessionKey.random("x").key());
        TensorEventWriter forger = new TensorEventWriter("client-1", impostor, LIMITS);
        assertRejected(RejectReason.BAD_MAC,
                offerAll(forger.records("up", forger.tensorEvent(EventKind.ACTIVATION_UP, 6, 0, activation(4, 8, 4),
                        CodecSpec.of(CodecFormat.FP32)))));

        TensorEventWriter other = new TensorEventWriter("client-2", otherSession, LIMITS);
        assertRejected(RejectReason.WRONG_SESSION,
                offerAll(other.records("up", other.tensorEvent(EventKind.ACTIVATION_UP, 6, 0, activation(4, 8, 4),
                        CodecSpec.of(CodecFormat.FP32)))));

        assertInstanceOf(Verdict.Accepted.class, offer(good));
        assertRejected(RejectReason.REPLAYED, offer(good));
        assertInstanceOf(Verdict.Accepted.class, offerAll(send(6, activation(4, 8, 5), CodecSpec.of(CodecFormat.FP32))));
        // One step behind is still fresh for activations (a retry after the next step's h_in went ahead), once.
        List<ProducerRecord<String, byte[]>> behind = client.records("up", client.tensorEvent(EventKind.ACTIVATION_UP,
                5, 0, 1, java.util.Map.of(), activation(4, 8, 6), CodecSpec.of(CodecFormat.FP32)));
        assertInstanceOf(Verdict.Accepted.class, offerAll(behind));
        assertRejected(RejectReason.REPLAYED, offerAll(behind));
        assertRejected(RejectReason.STALE_STEP, offerAll(send(4, activation(4, 8, 7), CodecSpec.of(CodecFormat.FP32))));
        // Other kinds have no window: a start older than the newest is stale.
        assertInstanceOf(Verdict.Accepted.class, offer(client.records("up",
                client.opaqueEvent(EventKind.CONTROL, 100, 0, 0, java.util.Map.of(), new byte[0])).get(0)));
        assertRejected(RejectReason.STALE_STEP, offer(client.records("up",
                client.opaqueEvent(EventKind.CONTROL, 99, 0, 0, java.util.Map.of(), new byte[0])).get(0)));

        assertEquals(2L, server.rejectionCounts().get(RejectReason.BAD_MAC));
        assertEquals(1L, server.rejectionCounts().get(RejectReason.WRONG_SESSION));
        assertEquals(2L, server.rejectionCounts().get(RejectReason.REPLAYED));
        assertEquals(2L, server.rejectionCounts().get(RejectReason.STALE_STEP));
    }

    @Test
    void malformedEventsAreRejectedWithTheirReason() {
        ProducerRecord<String, byte[]> good = send(1, activation(4, 8, 7), CodecSpec.of(CodecFormat.FP32)).get(0);
        assertRejected(RejectReason.MISSING_HEADER, offer(edited(good, session, h -> h.remove(WireHeaders.STEP))));
        assertRejected(RejectReason.UNKNOWN_DTYPE, offer(edited(good, session, set(WireHeaders.DTYPE, "float64"))));
        assertRejected(RejectReason.UNKNOWN_CODEC, offer(edited(good, session, set(WireHeaders.CODEC, "int3"))));
        assertRejected(RejectReason.UNKNOWN_CODEC,
                offer(edited(good, session, set(WireHeaders.CODEC_PARAMS, "topk=0;compression=brotli"))));
        assertRejected(RejectReason.UNSUPPORTED_SCHEMA, offer(edited(good, session, set(WireHeaders.SCHEMA, "2"))));
        assertRejected(RejectReason.SIZE_MISMATCH, offer(edited(good, session, set(WireHeaders.SHAPE, "4,9"))));
        assertRejected(RejectReason.MALFORMED_HEADER, offer(edited(good, session, set(WireHeaders.STEP, "one"))));
        assertRejected(RejectReason.UNEXPECTED_KIND, offer(edited(good, session, h -> {
            set(WireHeaders.KIND, "GRADIENT_DOWN").accept(h);
            set(WireHeaders.TYPE, EventKind.GRADIENT_DOWN.cloudEventType()).accept(h);
        })));

        HostTensor withNaN = activation(4, 8, 8);
        withNaN.data()[5] = Float.NaN;
        assertRejected(RejectReason.NON_FINITE, offerAll(send(2, withNaN, CodecSpec.of(CodecFormat.BF16))));
        assertRejected(RejectReason.OVERSIZE, offerAll(new TensorEventWriter("client-1", session,
                WireLimits.singleRecord(1 << 20)).records("up", client.tensorEvent(EventKind.ACTIVATION_UP, 3, 0,
                activation(64, 64, 9), CodecSpec.of(CodecFormat.FP32)))));
        // Nothing above consumed a replay slot: the untouched original is still accepted.
        assertInstanceOf(Verdict.Accepted.class, offer(good));
    }

    @Test
    void opaqueControlPayloadsPassThrough() {
        byte[] body = "{\"command\":\"stop\"}".getBytes(StandardCharsets.UTF_8);
        Verdict.Accepted accepted = assertInstanceOf(Verdict.Accepted.class,
                offerAll(client.records("up", client.opaqueEvent(EventKind.CONTROL, 1, 0, body))));
        assertArrayEquals(body, accepted.event().payload());
        assertEquals(Optional.empty(), accepted.tensor());
    }

    @Test
    void deadLetterKeepsTheHeadersAndAddsWhyButNotThePayload() {
        ProducerRecord<String, byte[]> good = send(1, activation(2, 2, 10), CodecSpec.of(CodecFormat.FP32)).get(0);
        ConsumerRecord<String, byte[]> consumed = new ConsumerRecord<>("up", 3, 42L, 0L, TimestampType.CREATE_TIME,
                good.key().length(), good.value().length, good.key(), good.value(), good.headers(), Optional.empty());
        ProducerRecord<String, byte[]> dead = DeadLetters.record("up.dlq", consumed,
                new Verdict.Rejected(RejectReason.BAD_MAC, "test"));
        assertEquals("up.dlq", dead.topic());
        assertEquals(good.key(), dead.key());
        assertEquals(0, dead.value().length);
        assertEquals(DeadLetters.sha256(good.value()),
                new String(dead.headers().lastHeader(DeadLetters.PAYLOAD_DIGEST).value(), StandardCharsets.UTF_8));
        assertEquals(Integer.toString(good.value().length),
                new String(dead.headers().lastHeader(DeadLetters.PAYLOAD_SIZE).value(), StandardCharsets.UTF_8));
        assertArrayEquals(good.headers().lastHeader(WireHeaders.HMAC).value(), dead.headers().lastHeader(WireHeaders.HMAC).value());
        assertEquals("BAD_MAC", new String(dead.headers().lastHeader(DeadLetters.REASON).value(), StandardCharsets.UTF_8));
        assertEquals("42", new String(dead.headers().lastHeader(DeadLetters.SOURCE_OFFSET).value(), StandardCharsets.UTF_8));
        assertEquals("3", new String(dead.headers().lastHeader(DeadLetters.SOURCE_PARTITION).value(), StandardCharsets.UTF_8));
    }

    @Test
    void aSignedShapeWhoseElementCountOverflowsIsRefusedWithAReason() {
        ProducerRecord<String, byte[]> good = send(1, activation(4, 8, 11), CodecSpec.of(CodecFormat.FP32)).get(0);
        Verdict overflow = offer(edited(good, session, set(WireHeaders.SHAPE, "4294967296,4294967296,4294967296")));
        assertRejected(RejectReason.MALFORMED_HEADER, overflow);
        assertTrue(((Verdict.Rejected) overflow).detail().contains("elements"), overflow.toString());
        // Past what one array can index, though a long would still hold it.
        assertRejected(RejectReason.MALFORMED_HEADER, offer(edited(good, session, set(WireHeaders.SHAPE, "65536,65536"))));
        assertInstanceOf(Verdict.Accepted.class, offer(good));
    }

    @Test
    void onlyARecordThatPassedTheMacAuthenticatesTheVerifier() {
        ProducerRecord<String, byte[]> good = send(1, activation(4, 8, 12), CodecSpec.of(CodecFormat.FP32)).get(0);
        assertRejected(RejectReason.MISSING_HEADER, offer(new ProducerRecord<>("up", null, good.key(), good.value())));
        byte[] flipped = good.value().clone();
        flipped[0] ^= 1;
        assertRejected(RejectReason.BAD_MAC, offer(new ProducerRecord<>("up", null, good.key(), flipped, good.headers())));
        assertFalse(server.authenticated());
        assertInstanceOf(Verdict.Accepted.class, offer(good));
        assertTrue(server.authenticated());
    }

    @Test
    void incompleteChunkSetsExpireWhenTheNextRecordArrives() {
        ChunkReassemblerTest.ManualClock clock = new ChunkReassemblerTest.ManualClock();
        TensorEventVerifier verifier = new TensorEventVerifier(session, EnumSet.of(EventKind.ACTIVATION_UP), LIMITS,
                clock);
        ProducerRecord<String, byte[]> first = send(1, activation(64, 256, 13), CodecSpec.of(CodecFormat.FP32)).get(0);
        assertInstanceOf(Verdict.Pending.class, verifier.verify(first.key(), first.headers(), first.value()));
        clock.now = clock.now.plus(LIMITS.chunkSetTimeout()).plusSeconds(1);
        ProducerRecord<String, byte[]> next = send(2, activation(2, 2, 14), CodecSpec.of(CodecFormat.FP32)).get(0);
        assertInstanceOf(Verdict.Accepted.class, verifier.verify(next.key(), next.headers(), next.value()));
        assertEquals(1L, verifier.rejectionCounts().get(RejectReason.INCOMPLETE_CHUNK_SET));
        assertEquals(List.of(), verifier.expireIncomplete(), "nothing left open");
    }
}
