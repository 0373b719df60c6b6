package io.guardedtuning.audit.rest;

import io.guardedtuning.audit.service.LeakagePoint;
import io.guardedtuning.audit.service.LeakageSeries;

/** One attack on one session at a glance: its latest point (scores null if not scored) and its best ROUGE-L. */
public record AttackSummary(String attack, long step, Double rougeL, Double tokenSetF1, Double meteorExact,
                            double confidence, long costMillis, Double bestRougeL, boolean alerting, int points,
                            String detail) {

    static AttackSummary of(LeakageSeries s) {
        LeakagePoint p = s.latest();
        return new AttackSummary(s.attack(), p.step(), p.rougeL(), p.tokenSetF1(), p.meteorExact(), p.confidence(),
                p.costMillis(), s.bestRougeL(), s.alerting(), s.points().size(), p.detail());
    }
}
