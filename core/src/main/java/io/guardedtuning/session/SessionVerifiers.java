package io.guardedtuning.session;

import io.guardedtuning.wire.EventKind;
import io.guardedtuning.wire.RejectReason;
import io.guardedtuning.wire.SessionKey;
import io.guardedtuning.wire.TensorEventVerifier;
import io.guardedtuning.wire.Verdict;
import io.guardedtuning.wire.WireLimits;
import org.apache.kafka.clients.consumer.ConsumerRecord;

import java.time.Clock;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.BiFunction;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * A receiver's per-session state (a verifier with its replay window and chunk sets, plus whatever the receiver
 * keeps beside it), created only once a session's key has signed a record: a record of a session not held yet is
 * checked by a fresh verifier, kept only when the record passed its MAC check. Unsigned records on fresh session
 * ids (junk, a flood) therefore leave nothing behind, and cannot evict a live session or reset its replay
 * protection. At most {@code maxSessions} are held; beyond that the least recently used authentic session is
 * dropped (its next record starts it afresh). Not thread-safe: one per consuming thread, like its verifiers.
 *
 * @param <S> what the receiver keeps per session besides the verifier
 */
public final class SessionVerifiers<S> {

    /** Sessions a receiver holds at once unless it says otherwise: far more than one replica serves at a time. */
    public static final int DEFAULT_MAX_SESSIONS = 1024;

    /** The verdict on a record, and its session's state when the session is held (after an authentic record). */
    public record Outcome<S>(Verdict verdict, Optional<S> state) {
    }

    private record Held<S>(TensorEventVerifier verifier, S state) {
    }

    /** A session's key; throws IllegalArgumentException for an id that has none here. */
    private final Function<String, SessionKey> keys;
    private final Set<EventKind> acceptedKinds;
    private final WireLimits limits;
    private final Clock clock;
    private final int maxSessions;
    private final BiFunction<String, SessionKey, S> newState;
    private final Consumer<String> dropped;
    private final Map<String, Held<S>> sessions = new LinkedHashMap<>(16, 0.75f, true);

    /**
     * @param newState the receiver's state for a session that just authenticated (given its key)
     * @param dropped  told the id of a session dropped to make room, so the receiver can forget it elsewhere too
     */
    public SessionVerifiers(Function<String, SessionKey> keys, Set<EventKind> acceptedKinds, WireLimits limits,
                            Clock clock, int maxSessions, BiFunction<String, SessionKey, S> newState, Consumer<String> dropped) {
        if (maxSessions < 1) {
            throw new IllegalArgumentException("maxSessions must be >= 1");
        }
        this.keys = keys;
        this.acceptedKinds = EnumSet.copyOf(acceptedKinds);
        this.limits = limits;
        this.clock = clock;
        this.maxSessions = maxSessions;
        this.newState = newState;
        this.dropped = dropped;
    }

    /** Verifies a record (keyed by its session id) with its session's verifier; never throws. */
    public Outcome<S> verify(ConsumerRecord<String, byte[]> record) {
        String session = record.key();
        Held<S> held = session == null ? null : sessions.get(session);
        if (held != null) {
            return new Outcome<>(held.verifier().verify(record), Optional.of(held.state()));
        }
        SessionKey key;
        try {
            key = keys.apply(session);
        } catch (IllegalArgumentException | NullPointerException e) {
            return new Outcome<>(new Verdict.Rejected(RejectReason.WRONG_SESSION,
                    "record key is not a session id: " + e.getMessage()), Optional.empty());
        }
        TensorEventVerifier candidate = new TensorEventVerifier(key, acceptedKinds, limits, clock);
        Verdict verdict = candidate.verify(record);
        if (!candidate.authenticated()) {
            return new Outcome<>(verdict, Optional.empty());
        }
        S state = newState.apply(session, key);
        sessions.put(session, new Held<>(candidate, state));
        if (sessions.size() > maxSessions) {
            Iterator<String> eldest = sessions.keySet().iterator();
            String gone = eldest.next();
            eldest.remove();
            dropped.accept(gone);
        }
        return new Outcome<>(verdict, Optional.of(state));
    }

    /** The verifier of a held session (e.g. to forget its steps on an authentic restart). */
    public Optional<TensorEventVerifier> verifier(String session) {
        Held<S> held = sessions.get(session);
        return held == null ? Optional.empty() : Optional.of(held.verifier());
    }

    /** Forgets a session's state; its next authentic record starts it afresh. */
    public void remove(String session) {
        sessions.remove(session);
    }

    /** Drops chunk sets past their timeout in every held session; one line per dropped set. */
    public List<String> expireIncomplete() {
        List<String> out = new ArrayList<>();
        sessions.forEach((id, held) -> held.verifier().expireIncomplete().forEach(set -> out.add(id + ": " + set)));
        return out;
    }

    public int size() {
        return sessions.size();
    }
}
