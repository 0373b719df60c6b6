package io.guardedtuning.audit.service;

import io.guardedtuning.attack.KnownDefence;
import io.guardedtuning.tensor.HostTensor;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Brings together what belongs to one (session, pass, step, micro-batch) although it arrives on two topics in no
 * fixed order: the activation and the gradient (Online only). A step sent in micro-batches is audited part by part. Every pass numbers its steps from 0, so the pass is part of the
 * key: an evaluation step is never matched with the training step of the same number. An Online activation waits
 * for its gradient up to {@code gradientWait}, then goes forward-only. Everything held is bounded in count and
 * time. Not thread-safe.
 */
public final class StepMatcher {

    /**
     * An accepted activation event: h_in, the lengths, whether a gradient will follow, and which micro-batch of the
     * step it is (with the batch row it starts at).
     */
    public record Activation(HostTensor hIn, long[] lengths, boolean backward, String pass, KnownDefence defence,
                             int microBatch, int firstRow) {
        public Activation(HostTensor hIn, long[] lengths, boolean backward, String pass, KnownDefence defence) {
            this(hIn, lengths, backward, pass, defence, 0, 0);
        }
    }

    private record Key(String session, String pass, long step, int microBatch) {
    }

    private record Timed<T>(T value, long atMillis) {
    }

    private static final int MAX_HELD = 256;
    private static final int MAX_REMEMBERED = 4096;

    private final long gradientWaitMillis;
    private final Map<Key, Timed<Activation>> awaitingGradient = new LinkedHashMap<>();
    private final Map<Key, Timed<HostTensor>> earlyGradients = new LinkedHashMap<>();
    private final Set<Key> decided = new LinkedHashSet<>();

    public StepMatcher(Duration gradientWait) {
        this.gradientWaitMillis = gradientWait.toMillis();
    }

    /** True the first time a step of a pass is seen, so a resent activation is not sampled twice. */
    public boolean firstSighting(String session, String pass, long step) {
        return firstSighting(session, pass, step, 0);
    }

    public boolean firstSighting(String session, String pass, long step, int microBatch) {
        boolean added = decided.add(new Key(session, pass, step, microBatch));
        trim(decided, MAX_REMEMBERED);
        return added;
    }

    /** A sampled activation; returns the step if it is complete (forward-only, or its gradient came first). */
    public Optional<SampledStep> onSampledActivation(String session, long step, Activation a, long nowMillis) {
        Key key = new Key(session, a.pass(), step, a.microBatch());
        if (!a.backward()) {
            return Optional.of(sampled(session, step, a, null));
        }
        Timed<HostTensor> gradient = earlyGradients.remove(key);
        if (gradient != null) {
            return Optional.of(sampled(session, step, a, gradient.value()));
        }
        put(awaitingGradient, key, new Timed<>(a, nowMillis));
        return Optional.empty();
    }

    /** A resent activation replaces the held one (the client sends it again when the server lost the step). */
    public void onResentActivation(String session, long step, Activation a, long nowMillis) {
        awaitingGradient.computeIfPresent(new Key(session, a.pass(), step, a.microBatch()),
                (k, old) -> new Timed<>(a, old.atMillis()));
    }

    /**
     * A gradient of a step the policy wants; returns the step if its activation is waiting. A gradient may arrive
     * before its activation (different topics), so it is held until the activation comes or the wait ends.
     */
    public Optional<SampledStep> onGradient(String session, String pass, long step, HostTensor gOut,
                                            long nowMillis) {
        return onGradient(session, pass, step, 0, gOut, nowMillis);
    }

    public Optional<SampledStep> onGradient(String session, String pass, long step, int microBatch, HostTensor gOut,
                                            long nowMillis) {
        Key key = new Key(session, pass, step, microBatch);
        Timed<Activation> activation = awaitingGradient.remove(key);
        if (activation != null) {
            return Optional.of(sampled(session, step, activation.value(), gOut));
        }
        if (!decided.contains(key)) {
            put(earlyGradients, key, new Timed<>(gOut, nowMillis));
        }
        return Optional.empty();
    }

    /** Activations whose gradient did not come in time, to attack forward-only; drops whatever else expired. */
    public List<SampledStep> expire(long nowMillis) {
        List<SampledStep> forwardOnly = new ArrayList<>();
        for (Iterator<Map.Entry<Key, Timed<Activation>>> it = awaitingGradient.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<Key, Timed<Activation>> e = it.next();
            if (nowMillis - e.getValue().atMillis() >= gradientWaitMillis) {
                forwardOnly.add(sampled(e.getKey().session(), e.getKey().step(), e.getValue().value(), null));
                it.remove();
            }
        }
        earlyGradients.values().removeIf(t -> nowMillis - t.atMillis() >= gradientWaitMillis);
        return forwardOnly;
    }

    /** A session's pass (re)started: its step numbers start again, so what was held of it is no longer valid. */
    public void forgetPass(String session, String pass) {
        for (Map<Key, ?> m : List.of(awaitingGradient, earlyGradients)) {
            m.keySet().removeIf(k -> k.session().equals(session) && k.pass().equals(pass));
        }
        decided.removeIf(k -> k.session().equals(session) && k.pass().equals(pass));
    }

    /** A session no longer held by the receiver (dropped to make room): forget all its passes. */
    public void forgetSession(String session) {
        for (Map<Key, ?> m : List.of(awaitingGradient, earlyGradients)) {
            m.keySet().removeIf(k -> k.session().equals(session));
        }
        decided.removeIf(k -> k.session().equals(session));
    }

    private static SampledStep sampled(String session, long step, Activation a, HostTensor gOut) {
        return new SampledStep(session, a.pass(), step, a.hIn(), a.lengths(), gOut, a.defence(), a.microBatch(),
                a.firstRow());
    }

    /** Items held, for tests and metrics. */
    public int held() {
        return awaitingGradient.size() + earlyGradients.size();
    }

    private static <V> void put(Map<Key, V> map, Key key, V value) {
        map.put(key, value);
        trim(map.keySet(), MAX_HELD);
    }

    private static void trim(Set<Key> keys, int max) {
        Iterator<Key> it = keys.iterator();
        while (keys.size() > max && it.hasNext()) {
            it.next();
            it.remove();
        }
    }
}
