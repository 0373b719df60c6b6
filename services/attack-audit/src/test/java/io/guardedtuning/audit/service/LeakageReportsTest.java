package io.guardedtuning.audit.service;

import io.guardedtuning.metrics.TextLeakage;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LeakageReportsTest {

    static LeakagePoint scored(long step, double rouge) {
        return LeakagePoint.unscored(step, 0.5, 10, "", step).scored(new TextLeakage.Scores(rouge, rouge, rouge, 1));
    }

    @Test
    void keepsPointsInStepOrderPerSessionAndAttackWithinTheCap() {
        LeakageReports r = new LeakageReports(0.5, 3);
        r.add("s", "sip", scored(2, 0.1));
        r.add("s", "sip", scored(0, 0.2));
        r.add("s", "tag", LeakagePoint.unscored(0, 0.3, 5, "nothing to attack", 0));
        r.add("s", "sip", scored(1, 0.3));
        LeakageSeries sip = r.add("s", "sip", scored(3, 0.4)).series();
        assertEquals(List.of(1L, 2L, 3L), sip.points().stream().map(LeakagePoint::step).toList());
        assertEquals(0.4, sip.bestRougeL());
        assertEquals(List.of("sip", "tag"), r.session("s").stream().map(LeakageSeries::attack).toList());
        assertNull(r.series("s", "tag").bestRougeL());
        assertEquals("s|tag", r.series("s", "tag").key());
        assertEquals(List.of("s"), r.sessions());
    }

    @Test
    void anUnscoredPointOfTheSameStepNeverErasesAScore() {
        LeakageReports r = new LeakageReports(0.5, 100);
        r.add("s", "sip", scored(5, 0.4));
        LeakageSeries after = r.add("s", "sip", LeakagePoint.unscored(5, 0.9, 1, "evaluation step", 9)).series();
        assertEquals(0.4, after.points().get(0).rougeL(), "the training step keeps its score");
        assertEquals(1, after.points().size());
        assertEquals(0.6, r.add("s", "sip", scored(5, 0.6)).series().points().get(0).rougeL(),
                "a new score still replaces the old one");
    }

    @Test
    void alertsOncePerCrossingAndReArmsBelowTheThreshold() {
        LeakageReports r = new LeakageReports(0.5, 100);
        assertTrue(r.add("s", "sip", scored(0, 0.2)).alert().isEmpty());
        LeakageReports.Update up = r.add("s", "sip", scored(1, 0.7));
        assertEquals(0.7, up.alert().orElseThrow().rougeL());
        assertTrue(up.series().alerting());
        assertTrue(r.add("s", "sip", scored(2, 0.9)).alert().isEmpty(), "still above: no second alert");
        assertTrue(r.add("s", "sip", LeakagePoint.unscored(3, 0.9, 1, "", 3)).alert().isEmpty(),
                "an unscored point changes nothing");
        assertFalse(r.add("s", "sip", scored(4, 0.3)).series().alerting());
        assertEquals(5, r.add("s", "sip", scored(5, 0.5)).alert().orElseThrow().step());
        assertTrue(r.add("s", "eia", scored(0, 0.6)).alert().isPresent(), "alerts are per attack");
    }

    @Test
    void lateScoresReplaceTheirPointAndRestoreKeepsNewerFindings() {
        LeakageReports r = new LeakageReports(0.5, 100);
        r.add("s", "sip", LeakagePoint.unscored(4, 0.9, 1, "", 0));
        assertTrue(r.replace("s", "sip", scored(9, 0.8)).isEmpty(), "no point of step 9 to replace");
        LeakageReports.Update u = r.replace("s", "sip", scored(4, 0.8)).orElseThrow();
        assertEquals(0.8, u.series().latest().rougeL());
        assertTrue(u.alert().isPresent());

        r.restore(new LeakageSeries("s", "sip", List.of(scored(0, 0.1)), false));
        assertEquals(4, r.series("s", "sip").latest().step(), "restore does not overwrite newer findings");
        r.restore(new LeakageSeries("old", "sip", List.of(scored(0, 0.9)), true));
        assertTrue(r.add("old", "sip", scored(1, 0.95)).alert().isEmpty(), "restored alert state is kept");
    }
}
