package io.guardedtuning.audit.service;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.UnaryOperator;

/**
 * The auditor's findings per session and attack. Each change returns the updated series (to persist) and, when a
 * scored point crosses the threshold upwards, an alert; the alert re-arms once the score drops below again.
 * Thread-safe.
 */
public final class LeakageReports {

    /** The result of a change: the series to persist, and an alert if this change raised one. */
    public record Update(LeakageSeries series, Optional<LeakageAlert> alert) {
    }

    private final double alertThreshold;
    private final int maxPoints;
    private final Map<String, Map<String, LeakageSeries>> bySession = new TreeMap<>();

    public LeakageReports(double alertThreshold, int maxPoints) {
        this.alertThreshold = alertThreshold;
        this.maxPoints = maxPoints;
    }

    public double alertThreshold() {
        return alertThreshold;
    }

    /**
     * Adds a point; a step attacked again replaces its earlier point, except that an unscored point never replaces
     * a scored one: evaluation passes number their steps from 0 too, and their unscorable points (no ground truth is
     * published for them) must not erase the training step's score.
     */
    public synchronized Update add(String session, String attack, LeakagePoint point) {
        return change(session, attack, points -> {
            if (!point.isScored() && points.stream().anyMatch(p -> p.step() == point.step() && p.isScored())) {
                return points;
            }
            points.removeIf(p -> p.step() == point.step());
            points.add(point);
            points.sort(Comparator.comparingLong(LeakagePoint::step));
            while (points.size() > maxPoints) {
                points.remove(0);
            }
            return points;
        });
    }

    /** Replaces the point of {@code step}, e.g. with its scores once the ground truth arrived. */
    public synchronized Optional<Update> replace(String session, String attack, LeakagePoint point) {
        LeakageSeries s = series(session, attack);
        if (s == null || s.points().stream().noneMatch(p -> p.step() == point.step())) {
            return Optional.empty();
        }
        return Optional.of(add(session, attack, point));
    }

    /** Puts back a series read from the reports topic, unless newer findings exist already. */
    public synchronized void restore(LeakageSeries series) {
        bySession.computeIfAbsent(series.session(), s -> new LinkedHashMap<>()).putIfAbsent(series.attack(), series);
    }

    public synchronized List<String> sessions() {
        return new ArrayList<>(bySession.keySet());
    }

    /** The session's series, one per attack, in the order the attacks were first reported. */
    public synchronized List<LeakageSeries> session(String session) {
        Map<String, LeakageSeries> m = bySession.get(session);
        return m == null ? List.of() : List.copyOf(m.values());
    }

    public synchronized LeakageSeries series(String session, String attack) {
        Map<String, LeakageSeries> m = bySession.get(session);
        return m == null ? null : m.get(attack);
    }

    private Update change(String session, String attack, UnaryOperator<List<LeakagePoint>> edit) {
        LeakageSeries old = series(session, attack);
        List<LeakagePoint> points = edit.apply(new ArrayList<>(old == null ? List.of() : old.points()));
        boolean wasAlerting = old != null && old.alerting();
        LeakageSeries draft = new LeakageSeries(session, attack, points, wasAlerting);
        LeakagePoint latest = draft.latestScored();
        boolean alerting = latest != null ? latest.rougeL() >= alertThreshold : wasAlerting;
        LeakageSeries updated = new LeakageSeries(session, attack, points, alerting);
        bySession.computeIfAbsent(session, s -> new LinkedHashMap<>()).put(attack, updated);
        Optional<LeakageAlert> alert = alerting && !wasAlerting
                ? Optional.of(new LeakageAlert(session, attack, latest.step(), latest.rougeL(), alertThreshold,
                        latest.atMillis()))
                : Optional.empty();
        return new Update(updated, alert);
    }
}
