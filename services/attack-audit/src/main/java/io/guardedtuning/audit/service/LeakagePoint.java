package io.guardedtuning.audit.service;

import io.guardedtuning.metrics.TextLeakage;

/**
 * One attack on one sampled step. The scores are null until the step's ground truth has arrived (and stay null
 * if it never does); confidence is the attacker's own, known without ground truth.
 */
public record LeakagePoint(long step, Double rougeL, Double tokenSetF1, Double meteorExact, double confidence,
                           long costMillis, String detail, long atMillis) {

    public static LeakagePoint unscored(long step, double confidence, long costMillis, String detail,
                                        long atMillis) {
        return new LeakagePoint(step, null, null, null, confidence, costMillis, detail, atMillis);
    }

    public LeakagePoint scored(TextLeakage.Scores s) {
        return new LeakagePoint(step, s.rougeL(), s.tokenSetF1(), s.meteorExact(), confidence, costMillis, detail,
                atMillis);
    }

    public boolean isScored() {
        return rougeL != null;
    }
}
