package io.guardedtuning.session;

import io.guardedtuning.messaging.Topics;
import io.guardedtuning.split.BackboneServer;
import io.guardedtuning.split.MicroBatches;
import io.guardedtuning.split.MissingActivationException;
import io.guardedtuning.tensor.HostTensor;
import io.guardedtuning.wire.DeadLetters;
import io.guardedtuning.wire.EventKind;
import io.guardedtuning.wire.EventMetadata;
import io.guardedtuning.wire.RejectReason;
import io.guardedtuning.wire.TensorEvent;
import io.guardedtuning.wire.TensorEventWriter;
import io.guardedtuning.wire.Verdict;
import io.guardedtuning.wire.WireLimits;
import io.guardedtuning.wire.WireRejectionException;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;

import java.time.Clock;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The provider's protocol: turns verified up-events into down-events. Activation up → backbone forward →
 * activation down; gradient up → backbone backward → gradient down; a gradient for a step the server no longer
 * holds → a {@code resend} request. Anything that fails verification or the protocol goes to the dead-letter
 * topic with its reason and is never applied. Retries of an answered step get the same answer again without
 * recomputing. One instance per consuming thread (the backbone allows one gradient recorder per process).
 */
public final class BackboneEndpoint {

    private static final int ANSWERS_KEPT_PER_SESSION = 4 * MicroBatches.MAX_PARTS;

    private final BackboneServer server;
    /** Per-session state, created only once a record of the session authenticated (see SessionVerifiers). */
    private final SessionVerifiers<SessionState> sessions;
    private final SessionMeter meter = new SessionMeter();
    private final Map<RejectReason, AtomicLong> rejections = new ConcurrentHashMap<>();

    private static final class SessionState {
        final TensorEventWriter writer;
        /** Recent answers by (kind, step), so a retried request is answered identically and cheaply. */
        final Map<String, TensorEventWriter.SignedRecords> answers = new LinkedHashMap<>();

        SessionState(TensorEventWriter writer) {
            this.writer = writer;
        }
    }

    public BackboneEndpoint(BackboneServer server, SessionKeys keys, WireLimits limits, String producerId,
                            Clock clock) {
        this.server = server;
        this.sessions = new SessionVerifiers<>(keys::forSession, EnumSet.of(EventKind.ACTIVATION_UP, EventKind.GRADIENT_UP,
                EventKind.CONTROL), limits, clock, SessionVerifiers.DEFAULT_MAX_SESSIONS,
                (session, key) -> new SessionState(new TensorEventWriter(producerId, key, limits)),
                server::endSession);
    }

    /** Handles one consumed record; returns the records to produce (answers or a dead letter), possibly none. */
    public List<ProducerRecord<String, byte[]>> handle(ConsumerRecord<String, byte[]> record) {
        String session = record.key();
        SessionVerifiers.Outcome<SessionState> outcome = sessions.verify(record);
        if (outcome.verdict() instanceof Verdict.Rejected rejected) {
            return deadLetter(record, rejected);
        }
        if (!(outcome.verdict() instanceof Verdict.Accepted accepted)) {
            return List.of();
        }
        SessionState state = outcome.state().orElseThrow();
        meter.received(session, record.serializedValueSize());
        if (accepted.event().metadata().kind() == EventKind.CONTROL) {
            return control(state, session, accepted.event().metadata(), record);
        }
        try {
            return answer(state, session, accepted.event(), accepted.tensor().orElseThrow());
        } catch (WireRejectionException e) {
            return deadLetter(record, new Verdict.Rejected(e.reason(), e.getMessage()));
        } catch (IllegalArgumentException e) {
            return deadLetter(record, new Verdict.Rejected(RejectReason.PROTOCOL, e.getMessage()));
        }
    }

    /** A client (re)start: its steps count from 0 again, and nothing held for its previous run is valid. */
    private List<ProducerRecord<String, byte[]>> control(SessionState state, String session, EventMetadata m,
                                                         ConsumerRecord<String, byte[]> record) {
        if (!SplitProtocol.START.equals(m.attribute(SplitProtocol.ACTION))) {
            return deadLetter(record, new Verdict.Rejected(RejectReason.PROTOCOL,
                    "unknown control action '" + m.attribute(SplitProtocol.ACTION) + "'"));
        }
        sessions.verifier(session).orElseThrow()
                .forgetSteps(EnumSet.of(EventKind.ACTIVATION_UP, EventKind.GRADIENT_UP));
        state.answers.clear();
        server.endSession(session);
        meter.restarted(session);
        return List.of();
    }

    private List<ProducerRecord<String, byte[]>> answer(SessionState state, String session, TensorEvent event,
                                                        HostTensor tensor) {
        EventMetadata m = event.metadata();
        // Checked before anything is computed or held: a malformed request must cost nothing and leave no state.
        int bitsDown = SplitProtocol.bitsDown(m);
        if (m.microBatch() < 0 || m.microBatch() >= MicroBatches.MAX_PARTS) {
            throw new IllegalArgumentException("micro-batch " + m.microBatch() + " outside 0.."
                    + (MicroBatches.MAX_PARTS - 1));
        }
        String answerKey = m.kind() + "#" + m.step() + "#" + m.microBatch();
        // A forward for backward must run again even when answered before: the retry exists because the server
        // no longer holds what backward needs.
        boolean replayable = m.kind() == EventKind.GRADIENT_UP || !SplitProtocol.backward(m);
        TensorEventWriter.SignedRecords cached = replayable ? state.answers.get(answerKey) : null;
        if (cached != null && m.attempt() > 0) {
            meter.retryAnswered(session);
            return count(session, cached);
        }
        long started = System.nanoTime();
        TensorEvent reply;
        if (m.kind() == EventKind.ACTIVATION_UP) {
            long[] lengths = SplitProtocol.lengths(m);
            HostTensor out = server.forward(session, m.step(), m.microBatch(), tensor, lengths,
                    SplitProtocol.backward(m));
            reply = state.writer.tensorEvent(EventKind.ACTIVATION_DOWN, m.step(), m.microBatch(), m.attempt(),
                    Map.of(), out, Precision.activations(bitsDown));
        } else {
            try {
                HostTensor gradIn = server.backward(session, m.step(), m.microBatch(), tensor);
                reply = state.writer.tensorEvent(EventKind.GRADIENT_DOWN, m.step(), m.microBatch(), m.attempt(),
                        Map.of(), gradIn, Precision.gradients(bitsDown));
            } catch (MissingActivationException e) {
                meter.resendRequested(session);
                reply = state.writer.opaqueEvent(EventKind.CONTROL, m.step(), m.microBatch(), m.attempt(),
                        Map.of(SplitProtocol.ACTION, SplitProtocol.RESEND), new byte[0]);
                return count(session, state.writer.records(Topics.sessionDown(session), reply));
            }
        }
        meter.computed(session, (System.nanoTime() - started) / 1_000_000);
        TensorEventWriter.SignedRecords records = state.writer.records(Topics.sessionDown(session), reply);
        state.answers.put(answerKey, records);
        while (state.answers.size() > ANSWERS_KEPT_PER_SESSION) {
            state.answers.remove(state.answers.keySet().iterator().next());
        }
        return count(session, records);
    }

    /** Meters an answer without reading it: reading would sign every chunk before the first could be sent. */
    private List<ProducerRecord<String, byte[]>> count(String session, TensorEventWriter.SignedRecords out) {
        meter.sent(session, out.size(), out.valueBytes());
        return out;
    }

    private List<ProducerRecord<String, byte[]>> deadLetter(ConsumerRecord<String, byte[]> record,
                                                            Verdict.Rejected rejected) {
        rejections.computeIfAbsent(rejected.reason(), r -> new AtomicLong()).incrementAndGet();
        return List.of(DeadLetters.record(Topics.DEAD_LETTER, record, rejected));
    }

    /** Forgets a session: its verifier state, cached answers and held activations. */
    public void endSession(String session) {
        sessions.remove(session);
        server.endSession(session);
    }

    public SessionMeter meter() {
        return meter;
    }

    public Map<RejectReason, Long> rejections() {
        Map<RejectReason, Long> out = new java.util.EnumMap<>(RejectReason.class);
        rejections.forEach((r, n) -> out.put(r, n.get()));
        return out;
    }

    /** Incomplete chunk sets past their timeout, across sessions (call periodically). */
    public List<String> expireIncomplete() {
        return sessions.expireIncomplete();
    }
}
