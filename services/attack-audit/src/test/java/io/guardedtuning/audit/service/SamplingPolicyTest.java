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

    @Test
    void samplesEveryNthStepOfEachSession() {
        SamplingPolicy p = new SamplingPolicy(5, 100, Set.of());
        assertEquals(List.of(SAMPLED, OFF_STEP, OFF_STEP, OFF_STEP, OFF_STEP, SAMPLED),
                List.of(p.decide("a", 0, 0), p.decide("a", 1, 0), p.decide("a", 2, 0), p.decide("a", 3, 0),
                        p.decide("a", 4, 0), p.decide("a", 5, 0)));
        assertEquals(SAMPLED, p.decide("b", 10, 0));
        assertTrue(p.wants("a", 15));
        assertFalse(p.wants("a", 16));
    }

    @Test
    void rateLimitIsGlobalAndSlidesOverTheMinute() {
        SamplingPolicy p = new SamplingPolicy(1, 2, Set.of());
        assertEquals(SAMPLED, p.decide("a", 0, 1_000));
        assertEquals(SAMPLED, p.decide("b", 0, 30_000));
        assertEquals(RATE_LIMITED, p.decide("c", 0, 60_999));
        assertEquals(SAMPLED, p.decide("c", 1, 61_000), "the first start left the window");
        assertEquals(RATE_LIMITED, p.decide("a", 1, 61_000));
        assertTrue(p.wants("a", 2), "wants() ignores and consumes no rate");
    }

    @Test
    void sessionsCanBeDisabledByConfigAndSwitchedAtRunTime() {
        SamplingPolicy p = new SamplingPolicy(1, 100, Set.of("quiet"));
        assertEquals(SESSION_DISABLED, p.decide("quiet", 0, 0));
        assertFalse(p.wants("quiet", 0));
        p.setEnabled("quiet", true);
        assertEquals(SAMPLED, p.decide("quiet", 1, 0));
        p.setEnabled("loud", false);
        assertFalse(p.isEnabled("loud"));
        assertEquals(SESSION_DISABLED, p.decide("loud", 0, 0));
    }

    @Test
    void refusesNonsenseSettings() {
        assertThrows(IllegalArgumentException.class, () -> new SamplingPolicy(0, 1, Set.of()));
        assertThrows(IllegalArgumentException.class, () -> new SamplingPolicy(1, 0, Set.of()));
    }
}
