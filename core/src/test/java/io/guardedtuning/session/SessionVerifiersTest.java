package io.guardedtuning.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.guardedtuning.messaging.Topics;
import io.guardedtuning.wire.EventKind;
import io.guardedtuning.wire.RejectReason;
import io.guardedtuning.wire.SessionKey;
import io.guardedtuning.wire.TensorEventWriter;
import io.guardedtuning.wire.Verdict;
import io.guardedtuning.wire.WireLimits;
import java.time.Clock;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.record.TimestampType;
import org.junit.jupiter.api.Test;

class SessionVerifiersTest {

    private static final SessionKeys KEYS = new SessionKeys(new byte[32]);
    private static final WireLimits LIMITS = WireLimits.chunkedDefaults();

    private final List<String> dropped = new ArrayList<>();
    private final SessionVerifiers<String> verifiers = new SessionVerifiers<>(KEYS::forSession,
            EnumSet.of(EventKind.ACTIVATION_UP, EventKind.CONTROL), LIMITS, Clock.systemUTC(), 8,
            (session, key) -> "state of " + session, dropped::add);

    private static ConsumerRecord<String, byte[]> start(SessionKey key, long step) {
        TensorEventWriter writer = new TensorEventWriter("client", key, LIMITS);
        ProducerRecord<String, byte[]> r = writer.records(Topics.ACTIVATIONS_UP, writer.opaqueEvent(EventKind.CONTROL,
                step, 0, 0, Map.of(SplitProtocol.ACTION, SplitProtocol.START), new byte[0])).get(0);
        return new ConsumerRecord<>(r.topic(), 0, 0, 0, TimestampType.CREATE_TIME, -1, -1, r.key(), r.value(),
                r.headers(), Optional.empty());
    }

    @Test
    void aFloodOfUnsignedRecordsOnFreshSessionsLeavesNoStateAndALiveSessionKeepsItsReplayProtection() {
        ConsumerRecord<String, byte[]> liveStart = start(KEYS.forSession("live"), 1000);
        SessionVerifiers.Outcome<String> first = verifiers.verify(liveStart);
        assertInstanceOf(Verdict.Accepted.class, first.verdict());
        assertEquals("state of live", first.state().orElseThrow());

        // Thousands of records on fresh session ids, signed with keys nobody issued for them.
        for (int i = 0; i < 3000; i++) {
            SessionVerifiers.Outcome<String> flood = verifiers.verify(start(SessionKey.random("flood-" + i), 2000));
            assertEquals(RejectReason.BAD_MAC, assertInstanceOf(Verdict.Rejected.class, flood.verdict()).reason());
            assertTrue(flood.state().isEmpty());
        }
        assertEquals(1, verifiers.size(), "only the live session is held");
        assertEquals(List.of(), dropped);

        // The live session's start, replayed after the flood, is still recognised.
        assertEquals(RejectReason.REPLAYED,
                assertInstanceOf(Verdict.Rejected.class, verifiers.verify(liveStart).verdict()).reason());
        assertInstanceOf(Verdict.Accepted.class, verifiers.verify(start(KEYS.forSession("live"), 1001)).verdict());
    }

    @Test
    void aKeyThatIsNoSessionIdIsRefusedAndAuthenticSessionsAreBounded() {
        ConsumerRecord<String, byte[]> noKey = new ConsumerRecord<>(Topics.ACTIVATIONS_UP, 0, 0, null, new byte[1]);
        assertEquals(RejectReason.WRONG_SESSION,
                assertInstanceOf(Verdict.Rejected.class, verifiers.verify(noKey).verdict()).reason());
        for (int i = 0; i < 10; i++) {
            verifiers.verify(start(KEYS.forSession("s" + i), 1));
        }
        assertEquals(8, verifiers.size());
        assertEquals(List.of("s0", "s1"), dropped, "the least recently used go first, and the receiver is told");
    }
}
