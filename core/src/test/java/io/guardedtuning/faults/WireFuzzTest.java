package io.guardedtuning.faults;

import io.guardedtuning.faults.SplitSessionFixture.LinkSetup;
import io.guardedtuning.faults.SplitSessionFixture.ServerReplica;
import io.guardedtuning.kafka.EmbeddedKafkaBroker;
import io.guardedtuning.kafka.EmbeddedKafkaExtension;
import io.guardedtuning.messaging.Topics;
import io.guardedtuning.model.OptModel;
import io.guardedtuning.model.Split;
import io.guardedtuning.session.BackboneEndpoint;
import io.guardedtuning.session.PlainKafkaTransport;
import io.guardedtuning.session.SessionKeys;
import io.guardedtuning.session.SessionMeter;
import io.guardedtuning.session.SessionSettings;
import io.guardedtuning.session.SplitProtocol;
import io.guardedtuning.split.BackboneServer;
import io.guardedtuning.tensor.HostTensor;
import io.guardedtuning.wire.CodecFormat;
import io.guardedtuning.wire.CodecSpec;
import io.guardedtuning.wire.DeadLetters;
import io.guardedtuning.wire.EventKind;
import io.guardedtuning.wire.PayloadChecksum;
import io.guardedtuning.wire.SessionKey;
import io.guardedtuning.wire.TensorEventWriter;
import io.guardedtuning.wire.WireHeaders;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.record.TimestampType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.UUID;
import java.util.function.BiFunction;

import static io.guardedtuning.faults.SplitSessionFixture.CONFIG;
import static io.guardedtuning.faults.SplitSessionFixture.KEYS;
import static io.guardedtuning.faults.SplitSessionFixture.LIMITS;
import static io.guardedtuning.faults.SplitSessionFixture.WEIGHTS;
import static io.guardedtuning.faults.SplitSessionFixture.assertSameRun;
import static io.guardedtuning.faults.SplitSessionFixture.header;
import static io.guardedtuning.faults.SplitSessionFixture.online;
import static io.guardedtuning.faults.SplitSessionFixture.runInProcess;
import static io.guardedtuning.faults.SplitSessionFixture.runOverKafka;
import static io.guardedtuning.faults.SplitSessionFixture.sessionId;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Random and mutated up-events against the server endpoint, directly and over the broker: none is applied, none
 * throws, each becomes a dead letter with its reason, and a normal session runs correctly afterwards.
 */
@ExtendWith(EmbeddedKafkaExtension.class)
class WireFuzzTest {

    private static final long SEED = 20261128L;
    private static final int CASES = 400;
    private static final SessionKeys FORGER_KEYS = new SessionKeys("someone else's master secret, 32+ bytes"
            .getBytes(StandardCharsets.UTF_8));

    /** A record under construction: key, headers and payload, all mutable. */
    private record Draft(String topic, String key, Headers headers, byte[] payload) {
        Draft withPayload(byte[] p) {
            return new Draft(topic, key, headers, p);
        }

        Draft withKey(String k) {
            return new Draft(topic, k, headers, payload);
        }

        void set(String name, String value) {
            headers.remove(name);
            headers.add(name, value.getBytes(StandardCharsets.UTF_8));
        }

        /** Makes checksums and the MAC fit again, so a mutation meets the checks behind the signature. */
        Draft resign(SessionKey key) {
            set(WireHeaders.CHECKSUM, PayloadChecksum.CRC32C.of(payload));
            set(WireHeaders.TOTAL_SIZE, Integer.toString(payload.length));
            set(WireHeaders.TOTAL_CHECKSUM, PayloadChecksum.CRC32C.of(payload));
            set(WireHeaders.HMAC, Base64.getEncoder().encodeToString(WireHeaders.mac(key, headers, payload)));
            return this;
        }

        ConsumerRecord<String, byte[]> consumed(long offset) {
            return new ConsumerRecord<>(topic, 0, offset, 0L, TimestampType.CREATE_TIME, -1, payload.length, key,
                    payload, headers, Optional.empty());
        }

        ProducerRecord<String, byte[]> produced() {
            return new ProducerRecord<>(topic, null, key, payload, headers);
        }
    }

    /** One mutation: a name for failure messages and how it turns a valid event into an invalid one. */
    private record Mutation(String name, BiFunction<Draft, Random, Draft> apply) {
    }

    private final String session = sessionId("fuzz");
    private final String otherSession = sessionId("fuzz-other");
    private final SessionKey key = KEYS.forSession(session);

    /** A valid activation (or, for odd steps, gradient) event of the fuzzed session at {@code step}. */
    private Draft valid(String forSession, SessionKey signer, long step, EventKind kind, Random random) {
        float[] data = new float[2 * 5 * CONFIG.hiddenSize()];
        for (int i = 0; i < data.length; i++) {
            data[i] = (float) random.nextGaussian();
        }
        HostTensor h = new HostTensor(new long[] {2, 5, CONFIG.hiddenSize()}, data);
        TensorEventWriter writer = new TensorEventWriter("fuzzer", new SessionKey(forSession, signer.key()), LIMITS);
        boolean up = kind == EventKind.ACTIVATION_UP;
        var event = writer.tensorEvent(kind, step, 0, 0, up ? SplitProtocol.activationAttributes(new long[] {5, 3},
                true, 32, SplitProtocol.TRAIN, 0f) : SplitProtocol.gradientAttributes(32, SplitProtocol.TRAIN), h, CodecSpec.of(CodecFormat.FP32));
        ProducerRecord<String, byte[]> r = writer.records(up ? Topics.ACTIVATIONS_UP : Topics.GRADIENTS_UP, event)
                .get(0);
        Headers copy = new RecordHeaders();
        r.headers().forEach(hd -> copy.add(hd.key(), hd.value()));
        return new Draft(r.topic(), r.key(), copy, r.value());
    }

    private List<Mutation> mutations() {
        List<Mutation> m = new ArrayList<>();
        m.add(new Mutation("header removed", (d, rnd) -> {
            Header[] all = d.headers().toArray();
            d.headers().remove(all[rnd.nextInt(all.length)].key());
            return d;
        }));
        m.add(new Mutation("header garbled", (d, rnd) -> {
            Header[] all = d.headers().toArray();
            String name = all[rnd.nextInt(all.length)].key();
            byte[] junk = new byte[1 + rnd.nextInt(40)];
            rnd.nextBytes(junk);
            junk[0] ^= (byte) 0x80; // never the original value: that byte is not ASCII
            d.headers().remove(name);
            d.headers().add(name, junk);
            return d;
        }));
        m.add(new Mutation("header repeated", (d, rnd) -> {
            Header[] all = d.headers().toArray();
            Header h = all[rnd.nextInt(all.length)];
            d.headers().add(h.key(), h.value());
            return d;
        }));
        m.add(new Mutation("shape changed, re-signed", (d, rnd) -> {
            // Only shapes of another size: a gradient reshaped to the same size is a valid gradient (for a step
            // this server does not hold, so it is answered with a resend request).
            String[] shapes = {"2,5,31", "2,5", "", "4,5,32", "2,-5,32", "2,x,32", "2,5,64", "2,5,32,2"};
            d.set(WireHeaders.SHAPE, shapes[rnd.nextInt(shapes.length)]);
            return d.resign(key);
        }));
        m.add(new Mutation("dtype changed, re-signed", (d, rnd) -> {
            String[] dtypes = {"float16", "bytes", "int8", "", "FLOAT32", "float64"};
            d.set(WireHeaders.DTYPE, dtypes[rnd.nextInt(dtypes.length)]);
            return d.resign(key);
        }));
        m.add(new Mutation("codec changed, re-signed", (d, rnd) -> {
            String[] codecs = {"fp8", "int8", "fp16", "raw", "bf16", "int4", "FP32"};
            d.set(WireHeaders.CODEC, codecs[rnd.nextInt(codecs.length)]);
            return d.resign(key);
        }));
        m.add(new Mutation("codec parameters changed, re-signed", (d, rnd) -> {
            String[] params = {"", "topk=0", "compression=none;topk=0", "topk=0;compression=gzip",
                    "topk=-1;compression=none", "topk=0;compression=none;x=1", "topk=x;compression=none",
                    "scale=per_token;topk=0;compression=none"};
            d.set(WireHeaders.CODEC_PARAMS, params[rnd.nextInt(params.length)]);
            return d.resign(key);
        }));
        m.add(new Mutation("payload resized, re-signed", (d, rnd) -> {
            int delta = (1 + rnd.nextInt(64)) * (rnd.nextBoolean() ? 1 : -1);
            return d.withPayload(java.util.Arrays.copyOf(d.payload(), d.payload().length + delta)).resign(key);
        }));
        m.add(new Mutation("payload resized", (d, rnd) ->
                d.withPayload(java.util.Arrays.copyOf(d.payload(), d.payload().length + 1 + rnd.nextInt(64)))));
        m.add(new Mutation("payload bit flipped", (d, rnd) -> {
            byte[] p = d.payload().clone();
            p[rnd.nextInt(p.length)] ^= (byte) (1 << rnd.nextInt(8));
            return d.withPayload(p);
        }));
        m.add(new Mutation("NaN or Inf in the tensor, re-signed", (d, rnd) -> {
            float[] bad = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY};
            ByteBuffer p = ByteBuffer.wrap(d.payload().clone()).order(ByteOrder.LITTLE_ENDIAN);
            p.putFloat(4 * rnd.nextInt(d.payload().length / 4), bad[rnd.nextInt(bad.length)]);
            return d.withPayload(p.array()).resign(key);
        }));
        m.add(new Mutation("signed with a wrong master's key", (d, rnd) -> d.resign(FORGER_KEYS.forSession(session))));
        m.add(new Mutation("signed with another session's key", (d, rnd) ->
                d.resign(KEYS.forSession(otherSession))));
        m.add(new Mutation("another session's valid event under this session's record key", (d, rnd) ->
                valid(otherSession, KEYS.forSession(otherSession), 1, EventKind.ACTIVATION_UP, rnd).withKey(session)));
        m.add(new Mutation("oversize", (d, rnd) -> d.withPayload(new byte[LIMITS.maxChunkBytes() + 1 + rnd.nextInt(8)])
                .resign(key)));
        m.add(new Mutation("a down kind sent up, re-signed", (d, rnd) -> {
            EventKind kind = rnd.nextBoolean() ? EventKind.ACTIVATION_DOWN : EventKind.GRADIENT_DOWN;
            d.set(WireHeaders.KIND, kind.name());
            d.set(WireHeaders.TYPE, kind.cloudEventType());
            return d.resign(key);
        }));
        m.add(new Mutation("split attributes broken, re-signed", (d, rnd) -> {
            String[][] attrs = {{SplitProtocol.LENGTHS, "5,x"}, {SplitProtocol.LENGTHS, "9,3"},
                    {SplitProtocol.LENGTHS, "0,5"}, {SplitProtocol.LENGTHS, "3,3"}, {SplitProtocol.LENGTHS, "5"},
                    {SplitProtocol.BACKWARD, "2"}, {SplitProtocol.BITS_DOWN, "7"}};
            // A gradient ignores the activation's attributes (and one for an unknown step is answered with a
            // resend request), so only its own attribute can be broken.
            boolean gradient = EventKind.GRADIENT_UP.name().equals(new String(d.headers().lastHeader(WireHeaders.KIND)
                    .value(), StandardCharsets.UTF_8));
            String[] a = gradient ? new String[] {SplitProtocol.BITS_DOWN, rnd.nextBoolean() ? "7" : "x"}
                    : attrs[rnd.nextInt(attrs.length)];
            d.set(WireHeaders.ATTRIBUTE_PREFIX + a[0], a[1]);
            return d.resign(key);
        }));
        m.add(new Mutation("schema or spec version changed, re-signed", (d, rnd) -> {
            d.set(rnd.nextBoolean() ? WireHeaders.SCHEMA : WireHeaders.SPEC_VERSION, rnd.nextBoolean() ? "2" : "0.3");
            return d.resign(key);
        }));
        m.add(new Mutation("random bytes", (d, rnd) -> {
            Headers headers = new RecordHeaders();
            for (int i = rnd.nextInt(6); i > 0; i--) {
                byte[] v = new byte[rnd.nextInt(20)];
                rnd.nextBytes(v);
                headers.add(rnd.nextBoolean() ? "ce_" + Integer.toHexString(rnd.nextInt()) : WireHeaders.KIND, v);
            }
            byte[] payload = new byte[rnd.nextInt(2048)];
            rnd.nextBytes(payload);
            String[] keys = {session, null, "", "not a session id!", UUID.randomUUID().toString()};
            return new Draft(d.topic(), keys[rnd.nextInt(keys.length)], headers, payload);
        }));
        return m;
    }

    /** The fuzz cases: each mutation applied in turn to a fresh valid event at its own step. */
    private List<Draft> cases() {
        Random random = new Random(SEED);
        List<Mutation> mutations = mutations();
        List<Draft> out = new ArrayList<>();
        for (int i = 0; i < CASES; i++) {
            Mutation m = mutations.get(i % mutations.size());
            EventKind kind = random.nextInt(4) == 0 ? EventKind.GRADIENT_UP : EventKind.ACTIVATION_UP;
            out.add(m.apply().apply(valid(session, key, i + 1, kind, random), random));
        }
        return out;
    }

    @Test
    void theEndpointAppliesNoneAndDeadLettersEachWithAReason() {
        Split split = Split.of(2, CONFIG);
        try (OptModel trunk = OptModel.fromTensors(CONFIG, HostTensor.select(WEIGHTS, split.backbone()));
             BackboneServer server = new BackboneServer(trunk, split, 8)) {
            BackboneEndpoint endpoint = new BackboneEndpoint(server, KEYS, LIMITS, "fuzz-server", Clock.systemUTC());
            List<Draft> cases = cases();
            List<Mutation> mutations = mutations();
            for (int i = 0; i < cases.size(); i++) {
                ConsumerRecord<String, byte[]> record = cases.get(i).consumed(i);
                String what = "case " + i + " (" + mutations.get(i % mutations.size()).name() + ")";
                List<ProducerRecord<String, byte[]>> out = assertDoesNotThrow(() -> endpoint.handle(record), what);
                assertEquals(1, out.size(), what + " must give exactly one dead letter");
                assertEquals(Topics.DEAD_LETTER, out.get(0).topic(), what);
                assertReason(out.get(0).headers(), what);
            }
            assertEquals(0, server.heldSteps(), "nothing was computed for backward");
            long answers = endpoint.meter().snapshot().values().stream().mapToLong(SessionMeter.Counters::messagesOut)
                    .sum();
            assertEquals(0, answers, "no event was answered");
            assertEquals(CASES, endpoint.rejections().values().stream().mapToLong(Long::longValue).sum());
        }
    }

    @Test
    void overTheBrokerTooAndANormalSessionRunsAfterwards(EmbeddedKafkaBroker broker) throws Exception {
        SessionSettings s = online(sessionId("after-fuzz"), 3);
        var reference = runInProcess(s);
        List<Draft> cases = cases().subList(0, 60);
        try (ServerReplica server = new ServerReplica(broker, "fuzz-replica");
             KafkaProducer<String, byte[]> producer = PlainKafkaTransport.producer(broker.bootstrapServers(),
                     LIMITS)) {
            Map<String, Draft> sent = new HashMap<>();
            for (Draft d : cases) {
                RecordMetadata at = producer.send(d.produced()).get();
                sent.put(at.topic() + "/" + at.partition() + "/" + at.offset(), d);
            }
            Map<String, String> reasons = deadLetterReasons(broker, sent.keySet());
            assertEquals(sent.keySet(), reasons.keySet(), "every fuzzed record was dead-lettered");
            reasons.values().forEach(r -> assertFalse(r.isBlank()));
            assertFalse(server.endpoint().meter().snapshot().containsKey(session)
                    && server.endpoint().meter().snapshot().get(session).messagesOut() > 0, "nothing answered");

            assertSameRun(reference, runOverKafka(broker, s, LinkSetup.patient()));
        }
    }

    private static void assertReason(Headers headers, String what) {
        Header reason = headers.lastHeader(DeadLetters.REASON);
        assertTrue(reason != null && reason.value().length > 0, what + " has no reason");
    }

    /** Dead-letter reasons by source "topic/partition/offset", for the given sources (waits for all). */
    private static Map<String, String> deadLetterReasons(EmbeddedKafkaBroker broker, Set<String> sources) {
        Map<String, String> found = new HashMap<>();
        try (KafkaConsumer<String, byte[]> c = PlainKafkaTransport.consumer(broker.bootstrapServers(), LIMITS,
                "fuzz-inspect-" + UUID.randomUUID(), "earliest")) {
            c.subscribe(List.of(Topics.DEAD_LETTER));
            long deadline = System.currentTimeMillis() + 60_000;
            while (found.size() < sources.size() && System.currentTimeMillis() < deadline) {
                for (ConsumerRecord<String, byte[]> r : c.poll(Duration.ofMillis(200))) {
                    String source = header(r, DeadLetters.SOURCE_TOPIC) + "/" + header(r, DeadLetters.SOURCE_PARTITION)
                            + "/" + header(r, DeadLetters.SOURCE_OFFSET);
                    if (sources.contains(source)) {
                        found.put(source, header(r, DeadLetters.REASON));
                    }
                }
            }
        }
        return found;
    }
}
