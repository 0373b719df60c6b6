package io.guardedtuning.audit.service;

import io.guardedtuning.attack.KnownDefence;
import io.guardedtuning.tensor.HostTensor;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

class StepMatcherTest {

    static final HostTensor H = new HostTensor(new long[] {1, 2, 2}, new float[] {1, 2, 3, 4});
    static final HostTensor G = new HostTensor(new long[] {1, 2, 2}, new float[] {5, 6, 7, 8});
    static final long[] LENGTHS = {2};

    final StepMatcher m = new StepMatcher(Duration.ofSeconds(5));

    static StepMatcher.Activation activation(HostTensor h, boolean backward, String pass) {
        return new StepMatcher.Activation(h, LENGTHS, backward, pass, KnownDefence.NONE);
    }

    @Test
    void microBatchesOfOneStepAreSampledAndMatchedWithTheirOwnGradients() {
        assertTrue(m.firstSighting("s", "train", 2, 0));
        assertTrue(m.firstSighting("s", "train", 2, 1), "another part of the same step is new");
        assertFalse(m.firstSighting("s", "train", 2, 1));
        StepMatcher.Activation part0 = new StepMatcher.Activation(H, LENGTHS, true, "train", KnownDefence.NONE, 0, 0);
        StepMatcher.Activation part1 = new StepMatcher.Activation(G, LENGTHS, true, "train", KnownDefence.NONE, 1, 1);
        assertTrue(m.onSampledActivation("s", 2, part0, 0).isEmpty());
        assertTrue(m.onSampledActivation("s", 2, part1, 0).isEmpty());
        SampledStep second = m.onGradient("s", "train", 2, 1, H, 1).orElseThrow();
        assertSame(G, second.hIn(), "part 1's gradient meets part 1's activation");
        assertEquals(1, second.microBatch());
        assertEquals(1, second.firstRow());
        assertSame(H, m.onGradient("s", "train", 2, 0, G, 2).orElseThrow().hIn());
    }

    @Test
    void forwardOnlyActivationIsReadyAtOnceWithItsPass() {
        SampledStep s = m.onSampledActivation("s", 3, activation(H, false, "eval-before"), 0).orElseThrow();
        assertEquals(3, s.step());
        assertEquals("eval-before", s.pass());
        assertFalse(s.hasGradient());
    }

    @Test
    void onlineActivationWaitsForItsGradientInEitherOrder() {
        assertTrue(m.onSampledActivation("s", 0, activation(H, true, "train"), 0).isEmpty());
        assertTrue(m.onGradient("other", "train", 0, G, 10).isEmpty(), "another session's gradient does not match");
        SampledStep s = m.onGradient("s", "train", 0, G, 20).orElseThrow();
        assertSame(H, s.hIn());
        assertSame(G, s.gOut());
        assertArrayEquals(LENGTHS, s.lengths());

        assertTrue(m.onGradient("s", "train", 1, G, 30).isEmpty(), "a gradient ahead of its activation is held");
        assertTrue(m.firstSighting("s", "train", 1));
        assertSame(G, m.onSampledActivation("s", 1, activation(H, true, "train"), 40).orElseThrow().gOut());
    }

    @Test
    void stepsOfDifferentPassesWithTheSameNumberNeverMeet() {
        assertTrue(m.firstSighting("s", "eval-before", 0));
        assertTrue(m.firstSighting("s", "train", 0), "training step 0 is new after evaluation step 0");
        assertFalse(m.firstSighting("s", "train", 0));
        assertTrue(m.onSampledActivation("s", 0, activation(H, true, "train"), 0).isEmpty());
        assertTrue(m.onGradient("s", "eval-after", 0, G, 1).isEmpty(),
                "a gradient named for another pass is not this step's");
        assertSame(G, m.onGradient("s", "train", 0, G, 2).orElseThrow().gOut());
    }

    @Test
    void activationWithoutGradientGoesForwardOnlyAfterTheWait() {
        m.onSampledActivation("s", 7, activation(H, true, "train"), 1_000);
        assertTrue(m.expire(5_999).isEmpty());
        List<SampledStep> expired = m.expire(6_000);
        assertEquals(1, expired.size());
        assertNull(expired.get(0).gOut());
        assertEquals("train", expired.get(0).pass());
        assertTrue(m.onGradient("s", "train", 7, G, 6_001).isEmpty() && m.expire(20_000).isEmpty());
        assertEquals(0, m.held());
    }

    @Test
    void aResentActivationIsNotSampledTwiceAndARestartForgetsThePass() {
        assertTrue(m.firstSighting("s", "train", 0));
        assertFalse(m.firstSighting("s", "train", 0));
        m.onSampledActivation("s", 0, activation(H, true, "train"), 0);
        m.onResentActivation("s", 0, activation(G, true, "train"), 1);
        assertSame(G, m.onGradient("s", "train", 0, G, 2).orElseThrow().hIn(), "the resent activation replaced the first");

        assertTrue(m.firstSighting("s", "eval-before", 4));
        m.onSampledActivation("s", 1, activation(H, true, "train"), 3);
        m.forgetPass("s", "train");
        assertEquals(0, m.held());
        assertTrue(m.firstSighting("s", "train", 0), "steps count from 0 again after a restart");
        assertFalse(m.firstSighting("s", "eval-before", 4), "another pass is not forgotten");
    }
}
