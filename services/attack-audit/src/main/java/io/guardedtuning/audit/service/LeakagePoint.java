package io.guardedtuning.audit.service;

import io.guardedtuning.session.AuditProtocol;

/**
 * One attack on one sampled step. The scores are null until the client has scored the reconstruction against its
 * own rows (and stay null if it never does): the auditor never sees those rows. {@code floor*} is the chance floor
 * the client measured beside them (the same metrics against unrelated rows of its task), {@code coverage} the share
 * of the step's token ids inside the attacker's public text. Confidence is the attacker's own, known without
 * ground truth; {@code reconstruction} names the event that carried the reconstruction to the client. A step sent
 * in micro-batches has a point per part, told apart by {@code firstRow} (the batch row the part starts at).
 */
public record LeakagePoint(long step, Double rougeL, Double tokenSetF1, Double meteorExact, Double floorRougeL,
                           Double floorTokenSetF1, Double floorMeteorExact, Double coverage, double confidence,
                           long costMillis, String detail, String reconstruction, long atMillis, int firstRow) {

    public static LeakagePoint unscored(long step, double confidence, long costMillis, String detail,
                                        String reconstruction, long atMillis) {
        return unscored(step, 0, confidence, costMillis, detail, reconstruction, atMillis);
    }

    public static LeakagePoint unscored(long step, int firstRow, double confidence, long costMillis, String detail,
                                        String reconstruction, long atMillis) {
        return new LeakagePoint(step, null, null, null, null, null, null, null, confidence, costMillis, detail,
                reconstruction, atMillis, firstRow);
    }

    /** The same part of the same step: a point for it replaces this one. */
    public boolean samePart(LeakagePoint other) {
        return step == other.step && firstRow == other.firstRow;
    }

    /** With the client's scores; a floor over no rows (the client held no unrelated rows) stays null. */
    public LeakagePoint scored(AuditProtocol.AttackScores s, Double coverage) {
        boolean floor = s.floor().samples() > 0;
        return new LeakagePoint(step, s.scores().rougeL(), s.scores().tokenSetF1(), s.scores().meteorExact(),
                floor ? s.floor().rougeL() : null, floor ? s.floor().tokenSetF1() : null,
                floor ? s.floor().meteorExact() : null, coverage, confidence, costMillis, detail, reconstruction,
                atMillis, firstRow);
    }

    public boolean isScored() {
        return rougeL != null;
    }
}
