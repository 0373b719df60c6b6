package io.guardedtuning.audit.service;

import io.guardedtuning.attack.KnownDefence;
import io.guardedtuning.attack.Reconstruction;
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
 * Brings together what belongs to one (session, step) although it arrives on three topics in no fixed order: the
 * activation, the gradient (Online only) and the client's ground truth. An Online activation waits for its
 * gradient up to {@code gradientWait}, then goes forward-only; reconstructions made before their ground truth
 * arrived wait for it up to {@code truthWindow}. Everything held is bounded in count and time. Not thread-safe.
 */
public final class StepMatcher {

    /** An accepted activation event: h_in, the lengths, and whether a gradient will follow. */
    public record Activation(HostTensor hIn, long[] lengths, boolean backward, String pass, KnownDefence defence) {
    }

    /** Reconstructions of a step, to be scored now that its ground truth has arrived. */
    public record Scorable(String session, long step, Map<String, Reconstruction> reconstructions,
                           List<int[]> truth) {
    }

    private record Key(String session, long step) {
    }

    private record Timed<T>(T value, long atMillis) {
    }

    private static final int MAX_HELD = 256;
    private static final int MAX_REMEMBERED = 4096;

    private final long gradientWaitMillis;
    private final long truthWindowMillis;
    private final Map<Key, Timed<Activation>> awaitingGradient = new LinkedHashMap<>();
    private final Map<Key, Timed<HostTensor>> earlyGradients = new LinkedHashMap<>();
    private final Map<Key, Timed<List<int[]>>> truths = new LinkedHashMap<>();
    private final Map<Key, Timed<Map<String, Reconstruction>>> awaitingTruth = new LinkedHashMap<>();
    private final Set<Key> decided = new LinkedHashSet<>();

    public StepMatcher(Duration gradientWait, Duration truthWindow) {
        this.gradientWaitMillis = gradientWait.toMillis();
        this.truthWindowMillis = truthWindow.toMillis();
    }

    /** True the first time a step is seen, so a resent activation is not sampled twice. */
    public boolean firstSighting(String session, long step) {
        boolean added = decided.add(new Key(session, step));
        trim(decided, MAX_REMEMBERED);
        return added;
    }

    /** A sampled activation; returns the step if it is complete (forward-only, or its gradient came first). */
    public Optional<SampledStep> onSampledActivation(String session, long step, Activation a, long nowMillis) {
        Key key = new Key(session, step);
        if (!a.backward()) {
            return Optional.of(new SampledStep(session, a.pass(), step, a.hIn(), a.lengths(), null, a.defence()));
        }
        Timed<HostTensor> gradient = earlyGradients.remove(key);
        if (gradient != null) {
            return Optional.of(new SampledStep(session, a.pass(), step, a.hIn(), a.lengths(), gradient.value(), a.defence()));
        }
        put(awaitingGradient, key, new Timed<>(a, nowMillis));
        return Optional.empty();
    }

    /** A resent activation replaces the held one (the client sends it again when the server lost the step). */
    public void onResentActivation(String session, long step, Activation a, long nowMillis) {
        awaitingGradient.computeIfPresent(new Key(session, step), (k, old) -> new Timed<>(a, old.atMillis()));
    }

    /**
     * A gradient of a step the policy wants; returns the step if its activation is waiting. A gradient may arrive
     * before its activation (different topics), so it is held until the activation comes or the wait ends.
     */
    public Optional<SampledStep> onGradient(String session, long step, HostTensor gOut, long nowMillis) {
        Key key = new Key(session, step);
        Timed<Activation> activation = awaitingGradient.remove(key);
        if (activation != null) {
            Activation a = activation.value();
            return Optional.of(new SampledStep(session, a.pass(), step, a.hIn(), a.lengths(), gOut, a.defence()));
        }
        if (!decided.contains(key)) {
            put(earlyGradients, key, new Timed<>(gOut, nowMillis));
        }
        return Optional.empty();
    }

    /** Ground truth of a step; returns earlier reconstructions of that step to score now. */
    public Optional<Scorable> onGroundTruth(String session, long step, List<int[]> tokens, long nowMillis) {
        Key key = new Key(session, step);
        Timed<Map<String, Reconstruction>> waiting = awaitingTruth.remove(key);
        if (waiting != null) {
            return Optional.of(new Scorable(session, step, waiting.value(), tokens));
        }
        put(truths, key, new Timed<>(tokens, nowMillis));
        return Optional.empty();
    }

    /**
     * The step's ground truth if it has arrived; otherwise the reconstructions (by attack id) are kept to be
     * scored later.
     */
    public Optional<List<int[]>> truthOrAwait(String session, long step, Map<String, Reconstruction> reconstructions,
                                              long nowMillis) {
        Key key = new Key(session, step);
        Timed<List<int[]>> truth = truths.remove(key);
        if (truth != null) {
            return Optional.of(truth.value());
        }
        put(awaitingTruth, key, new Timed<>(reconstructions, nowMillis));
        return Optional.empty();
    }

    /** Activations whose gradient did not come in time, to attack forward-only; drops whatever else expired. */
    public List<SampledStep> expire(long nowMillis) {
        List<SampledStep> forwardOnly = new ArrayList<>();
        for (Iterator<Map.Entry<Key, Timed<Activation>>> it = awaitingGradient.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<Key, Timed<Activation>> e = it.next();
            if (nowMillis - e.getValue().atMillis() >= gradientWaitMillis) {
                Activation a = e.getValue().value();
                forwardOnly.add(new SampledStep(e.getKey().session(), a.pass(), e.getKey().step(), a.hIn(),
                        a.lengths(), null, a.defence()));
                it.remove();
            }
        }
        earlyGradients.values().removeIf(t -> nowMillis - t.atMillis() >= gradientWaitMillis);
        truths.values().removeIf(t -> nowMillis - t.atMillis() >= truthWindowMillis);
        awaitingTruth.values().removeIf(t -> nowMillis - t.atMillis() >= truthWindowMillis);
        return forwardOnly;
    }

    /** A session's run (or pass) restarted: its step numbers start again, so held tensors are no longer valid. */
    public void forgetSession(String session) {
        // Ground truth stays: the client publishes it only for training steps, on another topic, so it may arrive
        // before the start event of the very run it belongs to.
        for (Map<Key, ?> m : List.of(awaitingGradient, earlyGradients, awaitingTruth)) {
            m.keySet().removeIf(k -> k.session().equals(session));
        }
        decided.removeIf(k -> k.session().equals(session));
    }

    /** Items held, for tests and metrics. */
    public int held() {
        return awaitingGradient.size() + earlyGradients.size() + truths.size() + awaitingTruth.size();
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
