package io.guardedtuning.audit.service;

import java.util.List;

/**
 * Leakage over time of one attack on one session: the unit persisted on the compacted reports topic (keyed
 * {@code session|attack}). {@code alerting} is whether the latest scored ROUGE-L is at or above the threshold, so
 * an alert fires once per crossing, also across restarts.
 */
public record LeakageSeries(String session, String attack, List<LeakagePoint> points, boolean alerting) {

    public LeakageSeries {
        points = List.copyOf(points);
    }

    public String key() {
        return key(session, attack);
    }

    public static String key(String session, String attack) {
        return session + "|" + attack;
    }

    /** The latest point with a score, or null. */
    public LeakagePoint latestScored() {
        for (int i = points.size() - 1; i >= 0; i--) {
            if (points.get(i).isScored()) {
                return points.get(i);
            }
        }
        return null;
    }

    public LeakagePoint latest() {
        return points.isEmpty() ? null : points.get(points.size() - 1);
    }

    /** Highest ROUGE-L F1 of any scored point, or null. */
    public Double bestRougeL() {
        return points.stream().filter(LeakagePoint::isScored).map(LeakagePoint::rougeL).max(Double::compare)
                .orElse(null);
    }
}
