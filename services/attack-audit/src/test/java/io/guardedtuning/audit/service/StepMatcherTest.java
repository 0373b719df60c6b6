package io.guardedtuning.audit.service;

import io.guardedtuning.attack.KnownDefence;
import io.guardedtuning.attack.Reconstruction;
import io.guardedtuning.tensor.HostTensor;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

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

    final StepMatcher m = new StepMatcher(Duration.ofSeconds(5), Duration.ofSeconds(60));

    @Test
    void forwardOnlyActivationIsReadyAtOnce() {
        SampledStep s = m.onSampledActivation("s", 3, new StepMatcher.Activation(H, LENGTHS, false, "train", KnownDefence.NONE), 0).orElseThrow();
        assertEquals(3, s.step());
        assertFalse(s.hasGradient());
    }

    @Test
    void onlineActivationWaitsForItsGradientInEitherOrder() {
        assertTrue(m.onSampledActivation("s", 0, new StepMatcher.Activation(H, LENGTHS, true, "train", KnownDefence.NONE), 0).isEmpty());
        assertTrue(m.onGradient("other", 0, G, 10).isEmpty(), "another session's gradient does not match");
        SampledStep s = m.onGradient("s", 0, G, 20).orElseThrow();
        assertSame(H, s.hIn());
        assertSame(G, s.gOut());
        assertArrayEquals(LENGTHS, s.lengths());

        assertTrue(m.onGradient("s", 1, G, 30).isEmpty(), "a gradient ahead of its activation is held");
        assertTrue(m.firstSighting("s", 1));
        assertSame(G, m.onSampledActivation("s", 1, new StepMatcher.Activation(H, LENGTHS, true, "train", KnownDefence.NONE), 40).orElseThrow()
                .gOut());
    }

    @Test
    void activationWithoutGradientGoesForwardOnlyAfterTheWait() {
        m.onSampledActivation("s", 7, new StepMatcher.Activation(H, LENGTHS, true, "train", KnownDefence.NONE), 1_000);
        assertTrue(m.expire(5_999).isEmpty());
        List<SampledStep> expired = m.expire(6_000);
        assertEquals(1, expired.size());
        assertNull(expired.get(0).gOut());
        assertTrue(m.onGradient("s", 7, G, 6_001).isEmpty() && m.expire(20_000).isEmpty());
    }

    @Test
    void groundTruthBeforeOrAfterTheAttackMeetsItsReconstructions() {
        List<int[]> truth = List.of(new int[] {4, 5, 6});
        Map<String, Reconstruction> recs = Map.of("sip", new Reconstruction("SIP", List.of(new int[] {4, 5, 9}),
                0.8, 3, ""));
        assertTrue(m.onGroundTruth("s", 0, truth, 0).isEmpty());
        assertSame(truth, m.truthOrAwait("s", 0, recs, 10).orElseThrow());

        assertTrue(m.truthOrAwait("s", 1, recs, 20).isEmpty(), "no truth yet: the reconstructions wait");
        StepMatcher.Scorable late = m.onGroundTruth("s", 1, truth, 30).orElseThrow();
        assertEquals(1, late.step());
        assertSame(recs, late.reconstructions());
    }

    @Test
    void truthAndWaitingReconstructionsExpireAfterTheWindow() {
        m.onGroundTruth("s", 0, List.of(new int[] {1}), 0);
        m.truthOrAwait("s", 1, Map.of(), 0);
        m.expire(60_000);
        assertEquals(0, m.held());
        assertEquals(Optional.empty(), m.onGroundTruth("s", 1, List.of(new int[] {1}), 60_001));
    }

    @Test
    void aResentActivationIsNotSampledTwiceAndARestartForgetsTheSession() {
        assertTrue(m.firstSighting("s", 0));
        assertFalse(m.firstSighting("s", 0));
        m.onSampledActivation("s", 0, new StepMatcher.Activation(H, LENGTHS, true, "train", KnownDefence.NONE), 0);
        m.onResentActivation("s", 0, new StepMatcher.Activation(G, LENGTHS, true, "train", KnownDefence.NONE), 1);
        assertSame(G, m.onGradient("s", 0, G, 2).orElseThrow().hIn(), "the resent activation replaced the first");

        m.onSampledActivation("s", 1, new StepMatcher.Activation(H, LENGTHS, true, "train", KnownDefence.NONE), 3);
        m.forgetSession("s");
        assertEquals(0, m.held());
        assertTrue(m.firstSighting("s", 0), "steps count from 0 again after a restart");
    }

    @Test
    void groundTruthThatArrivedBeforeItsRunStartedIsKept() {
        List<int[]> truth = List.of(new int[] {4, 5, 6});
        assertTrue(m.onGroundTruth("s", 3, truth, 0).isEmpty());
        m.forgetSession("s");
        assertSame(truth, m.truthOrAwait("s", 3, Map.of(), 1).orElseThrow(),
                "ground truth on its own topic may overtake the start event of its run");
    }
}
