package io.guardedtuning.session;

import io.guardedtuning.metrics.TextLeakage;

import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The client's own ground truth for its audit: the rows of its sampled steps, keyed by (pass, step), kept on the
 * client and never sent anywhere. It scores the auditor's reconstructions of exactly that (pass, step) against
 * them, beside a chance floor (the same metrics against rows of the step after, an unrelated batch of the same
 * task), and keeps the scores for the run's summary. Bounded: the oldest steps are dropped first. Thread-safe.
 */
public final class AuditedSteps implements AuditSink {

    /**
     * The headline of a run: the strongest attack on the most exposed training step, with its chance floor (null
     * when no unrelated rows were held) and the coverage of the step's ids by the attacker's public text.
     */
    public record Headline(String attack, String pass, long step, double rougeL, Double floorRougeL, Double coverage,
                           int scoredSteps) {
    }

    private record Key(String pass, long step) {
    }

    /** A scored part of a step: the whole batch, or one micro-batch starting at {@code firstRow}. */
    private record PartKey(String pass, long step, int firstRow) {
    }

    private static final class Held {
        final List<int[]> truth;
        List<int[]> unrelated;
        /** Rows some reconstruction was scored against; the step is scored when all are. */
        final BitSet scoredRows = new BitSet();

        Held(List<int[]> truth) {
            this.truth = truth;
        }

        boolean scored() {
            return scoredRows.cardinality() >= truth.size();
        }
    }

    private final int every;
    private final int capacity;
    private final Map<Key, Held> held = new LinkedHashMap<>();
    private final Map<PartKey, AuditProtocol.StepScores> scores = new LinkedHashMap<>();

    /**
     * @param every    keep the rows of every Nth step of each pass (the auditor's sampling; 0 keeps none)
     * @param capacity steps held (and scores kept) at most
     */
    public AuditedSteps(int every, int capacity) {
        if (every < 0 || capacity < 1) {
            throw new IllegalArgumentException("every must be >= 0 and capacity >= 1");
        }
        this.every = every;
        this.capacity = capacity;
    }

    @Override
    public synchronized void step(String pass, long step, List<int[]> sequences, boolean crossed) {
        if (every == 0) {
            return;
        }
        Held previous = held.get(new Key(pass, step - 1));
        if (previous != null && previous.unrelated == null) {
            previous.unrelated = copy(sequences);
        }
        if (crossed && step % every == 0) {
            held.put(new Key(pass, step), new Held(copy(sequences)));
            trim(held);
            notifyAll();
        }
    }

    /**
     * Scores a reconstruction event against the rows of its own (pass, step): all of them, or for a micro-batch the
     * rows from its first row on.
     *
     * @throws IllegalArgumentException when no rows of that pass and step are held, or the reconstruction's rows fall
     *                                  outside them: rows of another pass or step are never used instead
     */
    public synchronized AuditProtocol.StepScores score(String reconstructionId, AuditProtocol.Reconstructions r) {
        Key key = new Key(r.pass(), r.step());
        Held h = held.get(key);
        if (h == null) {
            throw new IllegalArgumentException("no rows of pass '" + r.pass() + "' step " + r.step()
                    + " are held by this client (sampled steps of that pass: every " + every
                    + "); a reconstruction is scored only against its own pass and step");
        }
        int from = r.firstRow();
        int rows = r.attacks().stream().mapToInt(a -> a.sequences().size()).max().orElse(0);
        if (from + rows > h.truth.size() || (from > 0 && rows == 0)) {
            throw new IllegalArgumentException("a reconstruction of rows " + from + ".." + (from + rows - 1)
                    + " of pass '" + r.pass() + "' step " + r.step() + " does not fit its " + h.truth.size()
                    + " rows");
        }
        int to = rows == 0 ? h.truth.size() : from + rows;
        List<int[]> truth = h.truth.subList(from, to);
        List<int[]> floorRows = h.unrelated != null ? h.unrelated : anyOther(key);
        if (to <= floorRows.size()) {
            floorRows = floorRows.subList(from, to);
        }
        List<AuditProtocol.AttackScores> attacks = new ArrayList<>();
        for (AuditProtocol.AttackReconstruction a : r.attacks()) {
            if (a.succeeded()) {
                attacks.add(new AuditProtocol.AttackScores(a.attack(), TextLeakage.score(a.sequences(), truth),
                        TextLeakage.score(a.sequences(), floorRows)));
            }
        }
        AuditProtocol.StepScores s = new AuditProtocol.StepScores(r.pass(), r.step(), reconstructionId,
                coverage(truth, r.auxiliaryVocabulary()), attacks);
        h.scoredRows.set(from, to);
        scores.put(new PartKey(r.pass(), r.step(), from), s);
        trim(scores);
        notifyAll();
        return s;
    }

    /** Waits until every held training step is scored; false if the timeout came first. */
    public synchronized boolean awaitTrainingScored(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (held.entrySet().stream().anyMatch(e -> SplitProtocol.isTraining(e.getKey().pass())
                && !e.getValue().scored())) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return false;
            }
            wait(Math.max(1, left / 1_000_000));
        }
        return true;
    }

    /** Scores so far, oldest first. */
    public synchronized List<AuditProtocol.StepScores> scored() {
        return List.copyOf(scores.values());
    }

    /**
     * Max over scored training steps (step 0 included; each micro-batch of a step on its own) of the strongest
     * attack; null when none is scored.
     */
    public synchronized Headline headline() {
        Headline best = null;
        Set<Key> steps = new HashSet<>();
        for (AuditProtocol.StepScores s : scores.values()) {
            if (!SplitProtocol.isTraining(s.pass()) || s.attacks().isEmpty()) {
                continue;
            }
            steps.add(new Key(s.pass(), s.step()));
            for (AuditProtocol.AttackScores a : s.attacks()) {
                if (best == null || a.scores().rougeL() > best.rougeL()) {
                    best = new Headline(a.attack(), s.pass(), s.step(), a.scores().rougeL(),
                            a.floor().samples() > 0 ? a.floor().rougeL() : null, s.coverage(), 0);
                }
            }
        }
        return best == null ? null : new Headline(best.attack(), best.pass(), best.step(), best.rougeL(),
                best.floorRougeL(), best.coverage(), steps.size());
    }

    /** Rows of another held step, for a floor when the step after was never seen (the pass's last step). */
    private List<int[]> anyOther(Key key) {
        for (Map.Entry<Key, Held> e : held.entrySet()) {
            if (!e.getKey().equals(key)) {
                return e.getValue().truth;
            }
        }
        return List.of();
    }

    /** Share of the rows' distinct ids the attacker's public text contains; null when it sent no vocabulary. */
    private static Double coverage(List<int[]> rows, BitSet vocabulary) {
        if (vocabulary == null) {
            return null;
        }
        Set<Integer> distinct = new HashSet<>();
        rows.forEach(r -> {
            for (int id : r) {
                distinct.add(id);
            }
        });
        long covered = distinct.stream().filter(vocabulary::get).count();
        return distinct.isEmpty() ? null : (double) covered / distinct.size();
    }

    private static List<int[]> copy(List<int[]> sequences) {
        return sequences.stream().map(int[]::clone).toList();
    }

    private void trim(Map<?, ?> map) {
        Iterator<?> it = map.keySet().iterator();
        while (map.size() > capacity && it.hasNext()) {
            it.next();
            it.remove();
        }
    }
}
