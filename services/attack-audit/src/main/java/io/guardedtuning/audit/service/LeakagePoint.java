package io.guardedtuning.audit.service;

import io.guardedtuning.session.AuditProtocol;

/**
 * One attack on one sampled step. The scores are null until the client has scored the reconstruction against its
 * own rows (and stay null if it never does): the auditor never sees those rows. {@code floor*} is the chance floor
 * the client measured beside them (the same metrics against unrelated rows of its task), {@code coverage} the share
 * of the step's token ids inside the attacker's public text. Confidence is the attacker's own, known without
 * ground truth; {@code reconstruction} names the event that carried the reconstruction to the client.
 */
public record LeakagePoint(long step, Double rougeL, Double tokenSetF1, Double meteorExact, Double floorRougeL,
                           Double floorTokenSetF1, Double floorMeteorExact, Double coverage, double confidence,
                           long costMillis, String detail, String reconstruction, long atMillis) {

    public static LeakagePoint unscored(long step, double confidence, long costMillis, String detail,
                                        String reconstruction, long atMillis) {
        return new LeakagePoint(step, null, null, null, null, null, null, null, confidence, costMillis, detail,
                reconstruction, atMillis);
    }

    /** With the client's scores; a floor over no rows (the client held no unrelated rows) stays null. */
    public LeakagePoint scored(AuditProtocol.AttackScores s, Double coverage) {
        boolean floor = s.floor().samples() > 0;
        return new LeakagePoint(step, s.scores().rougeL(), s.scores().tokenSetF1(), s.scores().meteorExact(),
                floor ? s.floor().rougeL() : null, floor ? s.floor().tokenSetF1() : null,
                floor ? s.floor().meteorExact() : null, coverage, confidence, costMillis, detail, reconstruction,
                atMillis);
    }

    public boolean isScored() {
        return rougeL != null;
    }
}
