package io.guardedtuning.audit.service;

import io.guardedtuning.session.AuditProtocol;
import io.guardedtuning.session.AuditedSteps;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.UnaryOperator;

/**
 * The auditor's findings per session, pass and attack. Each change returns the updated series (to persist) and,
 * when a scored point crosses the threshold upwards, an alert; the alert re-arms once the score drops below again.
 * Scores come from the client and are accepted only for the very reconstruction they name, of the same pass and
 * step. Thread-safe.
 */
public final class LeakageReports {

    /** The result of a change: the series to persist, and an alert if this change raised one. */
    public record Update(LeakageSeries series, Optional<LeakageAlert> alert) {
    }

    private final double alertThreshold;
    private final int maxPoints;
    /** session → (pass|attack) → series. */
    private final Map<String, Map<String, LeakageSeries>> bySession = new TreeMap<>();

    public LeakageReports(double alertThreshold, int maxPoints) {
        this.alertThreshold = alertThreshold;
        this.maxPoints = maxPoints;
    }

    public double alertThreshold() {
        return alertThreshold;
    }

    /**
     * Adds a point; a step (or micro-batch of a step) of the pass attacked again (a restarted run) replaces its
     * earlier point.
     */
    public synchronized Update add(String session, String pass, String attack, LeakagePoint point) {
        return change(session, pass, attack, points -> {
            points.removeIf(point::samePart);
            points.add(point);
            points.sort(Comparator.comparingLong(LeakagePoint::step).thenComparingInt(LeakagePoint::firstRow));
            while (points.size() > maxPoints) {
                points.remove(0);
            }
            return points;
        });
    }

    /**
     * The client's scores of one reconstruction event: each attack's point of that pass and step gets them.
     *
     * @throws IllegalArgumentException (nothing changed) when a scored attack has no point of that pass and step,
     *                                  or its point holds another reconstruction than the one scored: a score is
     *                                  never attached to another pass's or another attack run's reconstruction
     */
    public synchronized List<Update> score(String session, AuditProtocol.StepScores s) {
        List<LeakagePoint> targets = new ArrayList<>();
        for (AuditProtocol.AttackScores a : s.attacks()) {
            LeakageSeries series = series(session, s.pass(), a.attack());
            List<LeakagePoint> ofStep = series == null ? List.of() : series.points().stream()
                    .filter(x -> x.step() == s.step()).toList();
            if (ofStep.isEmpty()) {
                throw new IllegalArgumentException("scores for " + a.attack() + " on pass '" + s.pass() + "' step "
                        + s.step() + ", but no reconstruction of that pass and step was published");
            }
            LeakagePoint p = ofStep.stream().filter(x -> s.reconstruction().equals(x.reconstruction())).findFirst()
                    .orElseThrow(() -> new IllegalArgumentException("scores name reconstruction "
                            + s.reconstruction() + " but pass '" + s.pass() + "' step " + s.step() + " holds "
                            + ofStep.stream().map(LeakagePoint::reconstruction).toList()));
            targets.add(p.scored(a, s.coverage()));
        }
        List<Update> updates = new ArrayList<>();
        for (int i = 0; i < targets.size(); i++) {
            updates.add(add(session, s.pass(), s.attacks().get(i).attack(), targets.get(i)));
        }
        return updates;
    }

    /** Puts back a series read from the reports topic, unless newer findings exist already. */
    public synchronized void restore(LeakageSeries series) {
        bySession.computeIfAbsent(series.session(), s -> new LinkedHashMap<>())
                .putIfAbsent(series.pass() + "|" + series.attack(), series);
    }

    public synchronized List<String> sessions() {
        return new ArrayList<>(bySession.keySet());
    }

    /** The session's series, one per pass and attack, in the order they were first reported. */
    public synchronized List<LeakageSeries> session(String session) {
        Map<String, LeakageSeries> m = bySession.get(session);
        return m == null ? List.of() : List.copyOf(m.values());
    }

    public synchronized LeakageSeries series(String session, String pass, String attack) {
        Map<String, LeakageSeries> m = bySession.get(session);
        return m == null ? null : m.get(pass + "|" + attack);
    }

    /**
     * The session's leakage in one number: the maximum over its scored training steps (step 0 included) of the
     * strongest attack, with that point's chance floor; null while none is scored.
     */
    public synchronized AuditedSteps.Headline headline(String session) {
        LeakageSeries bestSeries = null;
        LeakagePoint best = null;
        java.util.Set<Long> steps = new java.util.HashSet<>();
        for (LeakageSeries s : session(session)) {
            if (!s.training()) {
                continue;
            }
            s.points().stream().filter(LeakagePoint::isScored).forEach(p -> steps.add(p.step()));
            LeakagePoint p = s.bestScored();
            if (p != null && (best == null || p.rougeL() > best.rougeL())) {
                best = p;
                bestSeries = s;
            }
        }
        return best == null ? null : new AuditedSteps.Headline(bestSeries.attack(), bestSeries.pass(), best.step(),
                best.rougeL(), best.floorRougeL(), best.coverage(),
                steps.size());
    }

    private Update change(String session, String pass, String attack, UnaryOperator<List<LeakagePoint>> edit) {
        LeakageSeries old = series(session, pass, attack);
        List<LeakagePoint> points = edit.apply(new ArrayList<>(old == null ? List.of() : old.points()));
        boolean wasAlerting = old != null && old.alerting();
        LeakageSeries draft = new LeakageSeries(session, pass, attack, points, wasAlerting);
        LeakagePoint latest = draft.latestScored();
        boolean alerting = latest != null ? latest.rougeL() >= alertThreshold : wasAlerting;
        LeakageSeries updated = new LeakageSeries(session, pass, attack, points, alerting);
        bySession.computeIfAbsent(session, s -> new LinkedHashMap<>()).put(pass + "|" + attack, updated);
        Optional<LeakageAlert> alert = alerting && !wasAlerting
                ? Optional.of(new LeakageAlert(session, pass, attack, latest.step(), latest.rougeL(), alertThreshold,
                        latest.atMillis()))
                : Optional.empty();
        return new Update(updated, alert);
    }
}
