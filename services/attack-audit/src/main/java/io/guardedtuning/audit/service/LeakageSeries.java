package io.guardedtuning.audit.service;

import io.guardedtuning.session.SplitProtocol;

import java.util.List;

/**
 * Leakage over the steps of one pass of one session, for one attack: the unit persisted on the compacted reports
 * topic (keyed {@code session|pass|attack}). Passes are never mixed: the training pass and an audited evaluation
 * pass are separate series. {@code alerting} is whether the latest scored ROUGE-L is at or above the threshold,
 * so an alert fires once per crossing, also across restarts.
 */
public record LeakageSeries(String session, String pass, String attack, List<LeakagePoint> points,
                            boolean alerting) {

    /** The pass of a series persisted before passes were recorded: its steps may mix passes, so it is no headline. */
    static final String UNKNOWN_PASS = "unknown";

    public LeakageSeries {
        pass = pass == null ? UNKNOWN_PASS : pass;
        points = List.copyOf(points);
    }

    public String key() {
        return key(session, pass, attack);
    }

    public static String key(String session, String pass, String attack) {
        return session + "|" + pass + "|" + attack;
    }

    public boolean training() {
        return SplitProtocol.isTraining(pass);
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

    /** The scored point with the highest ROUGE-L F1, or null. */
    public LeakagePoint bestScored() {
        return points.stream().filter(LeakagePoint::isScored)
                .max(java.util.Comparator.comparingDouble(LeakagePoint::rougeL)).orElse(null);
    }

    /** Highest ROUGE-L F1 of any scored point, or null. */
    public Double bestRougeL() {
        LeakagePoint best = bestScored();
        return best == null ? null : best.rougeL();
    }
}
