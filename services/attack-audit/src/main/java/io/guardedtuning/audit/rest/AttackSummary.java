package io.guardedtuning.audit.rest;

import io.guardedtuning.audit.service.LeakagePoint;
import io.guardedtuning.audit.service.LeakageSeries;

/**
 * One attack on one pass of a session at a glance: its latest point (scores null until the client scored it), the
 * chance floor and coverage beside them, and its best ROUGE-L.
 */
public record AttackSummary(String attack, String pass, long step, Double rougeL, Double tokenSetF1,
                            Double meteorExact, Double floorRougeL, Double coverage, double confidence,
                            long costMillis, Double bestRougeL, boolean alerting, int points, String detail) {

    static AttackSummary of(LeakageSeries s) {
        LeakagePoint p = s.latest();
        return new AttackSummary(s.attack(), s.pass(), p.step(), p.rougeL(), p.tokenSetF1(), p.meteorExact(),
                p.floorRougeL(), p.coverage(), p.confidence(), p.costMillis(), s.bestRougeL(), s.alerting(),
                s.points().size(), p.detail());
    }
}
