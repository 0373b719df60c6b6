package io.guardedtuning.audit.service;

import io.guardedtuning.metrics.TextLeakage;
import io.guardedtuning.session.AuditProtocol;
import io.guardedtuning.session.AuditedSteps;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LeakageReportsTest {

    static AuditProtocol.AttackScores scores(String attack, double rouge, double floor) {
        return new AuditProtocol.AttackScores(attack, new TextLeakage.Scores(rouge, rouge, rouge, 1),
                new TextLeakage.Scores(floor, floor, floor, 1));
    }

    static LeakagePoint scored(long step, double rouge) {
        return LeakagePoint.unscored(step, 0.5, 10, "", "r" + step, step).scored(scores("sip", rouge, 0.1), 0.9);
    }

    static LeakagePoint unscored(long step, String reconstruction) {
        return LeakagePoint.unscored(step, 0.5, 10, "", reconstruction, step);
    }

    @Test
    void keepsPointsInStepOrderPerSessionPassAndAttackWithinTheCap() {
        LeakageReports r = new LeakageReports(0.5, 3);
        r.add("s", "train", "sip", scored(2, 0.1));
        r.add("s", "train", "sip", scored(0, 0.2));
        r.add("s", "train", "tag", LeakagePoint.unscored(0, 0.3, 5, "nothing to attack", "r0", 0));
        r.add("s", "train", "sip", scored(1, 0.3));
        LeakageSeries sip = r.add("s", "train", "sip", scored(3, 0.4)).series();
        assertEquals(List.of(1L, 2L, 3L), sip.points().stream().map(LeakagePoint::step).toList());
        assertEquals(0.4, sip.bestRougeL());
        assertEquals(List.of("sip", "tag"), r.session("s").stream().map(LeakageSeries::attack).toList());
        assertNull(r.series("s", "train", "tag").bestRougeL());
        assertEquals("s|train|tag", r.series("s", "train", "tag").key());
        assertEquals(List.of("s"), r.sessions());
    }

    @Test
    void eachMicroBatchOfAStepKeepsItsOwnPointAndTakesOnlyItsOwnScores() {
        LeakageReports r = new LeakageReports(0.5, 100);
        r.add("s", "train", "sip", LeakagePoint.unscored(4, 0, 0.5, 1, "", "part-0", 0));
        r.add("s", "train", "sip", LeakagePoint.unscored(4, 2, 0.5, 1, "", "part-1", 0));
        r.score("s", new AuditProtocol.StepScores("train", 4, "part-1", null, List.of(scores("sip", 0.7, 0.1))));
        List<LeakagePoint> points = r.series("s", "train", "sip").points();
        assertEquals(List.of(0, 2), points.stream().map(LeakagePoint::firstRow).toList());
        assertFalse(points.get(0).isScored(), "part 1's scores are not part 0's");
        assertEquals(0.7, points.get(1).rougeL());
        r.add("s", "train", "sip", LeakagePoint.unscored(4, 2, 0.5, 1, "", "part-1-again", 0));
        assertEquals(2, r.series("s", "train", "sip").points().size(), "a part attacked again replaces itself only");
    }

    @Test
    void evaluationAndTrainingStepsOfTheSameNumberAreSeparateSeries() {
        LeakageReports r = new LeakageReports(0.5, 100);
        r.add("s", "train", "sip", scored(0, 0.9));
        r.add("s", "eval-before", "sip", unscored(0, "e0"));
        assertEquals(0.9, r.series("s", "train", "sip").points().get(0).rougeL(), "the evaluation step erased nothing");
        assertEquals(2, r.session("s").size());
    }

    @Test
    void clientScoresLandOnTheReconstructionTheyNameAndAMismatchedPassIsRefused() {
        LeakageReports r = new LeakageReports(0.5, 100);
        r.add("s", "eval-before", "sip", unscored(5, "eval-rec"));
        r.add("s", "train", "sip", unscored(5, "train-rec"));

        IllegalArgumentException otherPass = assertThrows(IllegalArgumentException.class, () -> r.score("s",
                new AuditProtocol.StepScores("eval-after", 5, "eval-rec", null, List.of(scores("sip", 0.9, 0.1)))));
        assertTrue(otherPass.getMessage().contains("no reconstruction of that pass"), otherPass.getMessage());
        IllegalArgumentException crossed = assertThrows(IllegalArgumentException.class, () -> r.score("s",
                new AuditProtocol.StepScores("train", 5, "eval-rec", null, List.of(scores("sip", 0.9, 0.1)))));
        assertTrue(crossed.getMessage().contains("holds [train-rec]"), crossed.getMessage());
        assertFalse(r.series("s", "train", "sip").points().get(0).isScored(), "a refused score changes nothing");

        List<LeakageReports.Update> u = r.score("s", new AuditProtocol.StepScores("train", 5, "train-rec", 0.95,
                List.of(scores("sip", 0.8, 0.12))));
        LeakagePoint p = u.get(0).series().points().get(0);
        assertEquals(0.8, p.rougeL());
        assertEquals(0.12, p.floorRougeL());
        assertEquals(0.95, p.coverage());
        assertFalse(r.series("s", "eval-before", "sip").points().get(0).isScored(), "the other pass is untouched");
        assertTrue(u.get(0).alert().isPresent());
    }

    @Test
    void theHeadlineIsTheMaxOverScoredTrainingStepsOfTheStrongestAttack() {
        LeakageReports r = new LeakageReports(0.5, 100);
        assertNull(r.headline("s"));
        r.add("s", "train", "sip", LeakagePoint.unscored(0, 0.5, 1, "", "a", 0).scored(scores("sip", 0.91, 0.13), 0.9));
        r.add("s", "train", "sip", scored(5, 0.6));
        r.add("s", "train", "eia", LeakagePoint.unscored(5, 0.5, 1, "", "b", 0).scored(scores("eia", 0.7, 0.1), 0.9));
        r.add("s", "eval-before", "sip", LeakagePoint.unscored(0, 0.5, 1, "", "c", 0)
                .scored(scores("sip", 0.99, 0.1), 0.9));
        AuditedSteps.Headline h = r.headline("s");
        assertEquals("sip", h.attack());
        assertEquals(0, h.step(), "step 0 counts");
        assertEquals(0.91, h.rougeL(), "an evaluation pass never enters the headline; the max, not the mean");
        assertEquals(0.13, h.floorRougeL());
        assertEquals(2, h.scoredSteps());
    }

    @Test
    void alertsOncePerCrossingAndReArmsBelowTheThreshold() {
        LeakageReports r = new LeakageReports(0.5, 100);
        assertTrue(r.add("s", "train", "sip", scored(0, 0.2)).alert().isEmpty());
        LeakageReports.Update up = r.add("s", "train", "sip", scored(1, 0.7));
        assertEquals(0.7, up.alert().orElseThrow().rougeL());
        assertEquals("train", up.alert().orElseThrow().pass());
        assertTrue(up.series().alerting());
        assertTrue(r.add("s", "train", "sip", scored(2, 0.9)).alert().isEmpty(), "still above: no second alert");
        assertTrue(r.add("s", "train", "sip", unscored(3, "r3")).alert().isEmpty(), "an unscored point changes nothing");
        assertFalse(r.add("s", "train", "sip", scored(4, 0.3)).series().alerting());
        assertEquals(5, r.add("s", "train", "sip", scored(5, 0.5)).alert().orElseThrow().step());
        assertTrue(r.add("s", "train", "eia", scored(0, 0.6)).alert().isPresent(), "alerts are per attack");
    }

    @Test
    void restoreKeepsNewerFindings() {
        LeakageReports r = new LeakageReports(0.5, 100);
        r.add("s", "train", "sip", unscored(4, "r4"));
        r.restore(new LeakageSeries("s", "train", "sip", List.of(scored(0, 0.1)), false));
        assertEquals(4, r.series("s", "train", "sip").latest().step(), "restore does not overwrite newer findings");
        r.restore(new LeakageSeries("old", "train", "sip", List.of(scored(0, 0.9)), true));
        assertTrue(r.add("old", "train", "sip", scored(1, 0.95)).alert().isEmpty(), "restored alert state is kept");
    }
}
