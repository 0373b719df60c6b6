package io.guardedtuning.audit.service;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Set;

import static io.guardedtuning.audit.service.SamplingPolicy.Decision.OFF_STEP;
import static io.guardedtuning.audit.service.SamplingPolicy.Decision.RATE_LIMITED;
import static io.guardedtuning.audit.service.SamplingPolicy.Decision.SAMPLED;
import static io.guardedtuning.audit.service.SamplingPolicy.Decision.SESSION_DISABLED;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SamplingPolicyTest {

    static final List<String> TRAIN = List.of("train");

    @Test
    void samplesEveryNthStepOfEachSession() {
        SamplingPolicy p = new SamplingPolicy(5, 100, TRAIN, Set.of());
        assertEquals(List.of(SAMPLED, OFF_STEP, OFF_STEP, OFF_STEP, OFF_STEP, SAMPLED),
                List.of(p.decide("a", "train", 0, 0), p.decide("a", "train", 1, 0), p.decide("a", "train", 2, 0), p.decide("a", "train", 3, 0),
                        p.decide("a", "train", 4, 0), p.decide("a", "train", 5, 0)));
        assertEquals(SAMPLED, p.decide("b", "train", 10, 0));
        assertTrue(p.wants("a", "train", 15));
        assertFalse(p.wants("a", "train", 16));
    }

    @Test
    void rateLimitIsGlobalAndSlidesOverTheMinute() {
        SamplingPolicy p = new SamplingPolicy(1, 2, TRAIN, Set.of());
        assertEquals(SAMPLED, p.decide("a", "train", 0, 1_000));
        assertEquals(SAMPLED, p.decide("b", "train", 0, 30_000));
        assertEquals(RATE_LIMITED, p.decide("c", "train", 0, 60_999));
        assertEquals(SAMPLED, p.decide("c", "train", 1, 61_000), "the first start left the window");
        assertEquals(RATE_LIMITED, p.decide("a", "train", 1, 61_000));
        assertTrue(p.wants("a", "train", 2), "wants() ignores and consumes no rate");
    }

    @Test
    void sessionsCanBeDisabledByConfigAndSwitchedAtRunTime() {
        SamplingPolicy p = new SamplingPolicy(1, 100, TRAIN, Set.of("quiet"));
        assertEquals(SESSION_DISABLED, p.decide("quiet", "train", 0, 0));
        assertFalse(p.wants("quiet", "train", 0));
        p.setEnabled("quiet", true);
        assertEquals(SAMPLED, p.decide("quiet", "train", 1, 0));
        p.setEnabled("loud", false);
        assertFalse(p.isEnabled("loud"));
        assertEquals(SESSION_DISABLED, p.decide("loud", "train", 0, 0));
    }

    @Test
    void samplesTrainingByDefaultAndEvaluationPassesOnlyWhenConfigured() {
        SamplingPolicy trainOnly = new SamplingPolicy(5, 100, TRAIN, Set.of());
        assertEquals(OFF_STEP, trainOnly.decide("a", "eval-before", 0, 0), "evaluation is not audited by default");
        assertEquals(SAMPLED, trainOnly.decide("a", "train", 0, 0), "training step 0 is sampled");
        assertFalse(trainOnly.wants("a", "eval-after", 5));
        SamplingPolicy both = new SamplingPolicy(5, 100, List.of("train", "eval-before"), Set.of());
        assertEquals(SAMPLED, both.decide("a", "eval-before", 0, 0));
        assertEquals(OFF_STEP, both.decide("a", "eval-after", 0, 0));
    }

    @Test
    void refusesNonsenseSettings() {
        assertThrows(IllegalArgumentException.class, () -> new SamplingPolicy(1, 1, List.of(), Set.of()));
        assertThrows(IllegalArgumentException.class, () -> new SamplingPolicy(0, 1, TRAIN, Set.of()));
        assertThrows(IllegalArgumentException.class, () -> new SamplingPolicy(1, 0, TRAIN, Set.of()));
    }
}
