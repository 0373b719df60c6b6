package io.guardedtuning.privacy;

import io.guardedtuning.attack.WireDefence;
import io.guardedtuning.split.BackboneLink;
import io.guardedtuning.tensor.HostTensor;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The client's leakage budget: what reaches the link is only ever a batch the client's own attack scored in budget. */
class LeakageGuardTest {

    static final long[] LENGTHS = {4, 4};
    static final List<int[]> TOKENS = List.of(new int[] {5, 6, 7, 8}, new int[] {9, 10, 11, 12});

    /** A link that only records what it was given. */
    static final class RecordingLink implements BackboneLink {
        final List<HostTensor> sent = new ArrayList<>();
        final List<Float> namedNoise = new ArrayList<>();
        private float noise = -1;

        @Override
        public void noiseApplied(float noiseStd) {
            noise = noiseStd;
        }

        @Override
        public HostTensor forward(long step, HostTensor hIn, long[] lengths, boolean forBackward) {
            sent.add(hIn);
            namedNoise.add(noise);
            return hIn;
        }

        @Override
        public HostTensor backward(long step, HostTensor gradOut) {
            return gradOut;
        }
    }

    /**
     * A stand-in attack whose leakage falls as the noise grows: it measures the noise actually in the tensor (the
     * input is all zeros), so the guard cannot pass the check with one tensor and send another.
     */
    static class NoiseReadingProbe implements LeakageProbe {
        final double leakAtZero;
        final List<Double> scored = new ArrayList<>();

        NoiseReadingProbe(double leakAtZero) {
            this.leakAtZero = leakAtZero;
        }

        @Override
        public double leakage(HostTensor wire, long[] lengths, List<int[]> tokens, WireDefence defence) {
            assertEquals(TOKENS, tokens, "the probe scores against the batch's own tokens");
            double leak = leakAtZero / (1 + 6 * rms(wire));
            scored.add(leak);
            return leak;
        }
    }

    static double rms(HostTensor t) {
        double sq = 0;
        for (float v : t.data()) {
            sq += v * v;
        }
        return Math.sqrt(sq / t.data().length);
    }

    static HostTensor zeros() {
        return new HostTensor(new long[] {2, 4, 256}, new float[2 * 4 * 256]);
    }

    /**
     * The auditor sees more than the client's check (more text, more steps): its scores of steps already sent raise
     * σ for the batches to come, and past the largest σ the session stops before sending again.
     */
    @Test
    void theAuditorsScoresOverBudgetTightenTheNoiseForLaterBatchesAndCanStopTheSession() {
        NoiseReadingProbe probe = new NoiseReadingProbe(0.2);
        LeakageGuard guard = new LeakageGuard(new LeakageGuard.Budget(0.3, 0.25f, 0.5f), 0, 0f, probe, 11);
        BackboneLink link = guard.around(new RecordingLink());
        link.beforeBatch(TOKENS);
        link.forward(0, zeros(), LENGTHS, false);
        assertEquals(0f, guard.noiseStd(), "the client's own check passed the batch unnoised");
        guard.auditScored(0, "sip", 0.25);
        assertEquals(0f, guard.noiseStd(), "within budget: nothing moves");
        guard.auditScored(0, "bisr-f", 0.8);
        assertEquals(0.25f, guard.noiseStd());
        LeakageGuard.Move move = guard.report().moves().get(0);
        assertEquals("audit:bisr-f", move.cause());
        assertEquals(0.8, move.leakageBefore());
        guard.auditScored(3, "sip", 0.7);
        assertEquals(0.5f, guard.noiseStd());
        guard.auditScored(5, "sip", 0.6);
        link.beforeBatch(TOKENS);
        LeakageBudgetExceededException stop = assertThrows(LeakageBudgetExceededException.class,
                () -> link.forward(6, zeros(), LENGTHS, false));
        assertTrue(stop.getMessage().contains("the auditor's sip rebuilt training step 5 at ROUGE-L 0.600"),
                stop.getMessage());
    }

    /**
     * The auditor's findings arrive on the down topic's consumer thread; Kafka stops a consumer whose record is not
     * done within a minute. So a finding must never wait for the client's own check, which takes minutes on a new
     * noise rung; it applies from the next batch, and the batch in flight names the σ it was checked at.
     */
    @Test
    void anAuditFindingDoesNotWaitForTheCheckInFlightAndAppliesToTheNextBatch() throws Exception {
        CountDownLatch checking = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        NoiseReadingProbe slow = new NoiseReadingProbe(0.2) {
            @Override
            public double leakage(HostTensor wire, long[] lengths, List<int[]> tokens, WireDefence defence) {
                checking.countDown();
                try {
                    release.await(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return super.leakage(wire, lengths, tokens, defence);
            }
        };
        LeakageGuard guard = new LeakageGuard(new LeakageGuard.Budget(0.3, 0.25f, 4f), 0, 0f, slow, 11);
        RecordingLink wire = new RecordingLink();
        BackboneLink link = guard.around(wire);
        ExecutorService session = Executors.newSingleThreadExecutor();
        try {
            link.beforeBatch(TOKENS);
            Future<HostTensor> inFlight = session.submit(() -> link.forward(0, zeros(), LENGTHS, false));
            assertTrue(checking.await(10, TimeUnit.SECONDS));
            CompletableFuture<Void> finding = CompletableFuture.runAsync(() -> guard.auditScored(0, "sip", 0.9));
            finding.get(5, TimeUnit.SECONDS);
            assertEquals(0.25f, guard.noiseStd(), "the finding raised σ while the check was still running");
            release.countDown();
            inFlight.get(30, TimeUnit.SECONDS);
            assertEquals(List.of(0f), wire.namedNoise, "the batch in flight went out at the σ it was checked at");
            link.beforeBatch(TOKENS);
            link.forward(1, zeros(), LENGTHS, false);
            assertEquals(List.of(0f, 0.25f), wire.namedNoise, "the next batch goes through the raised σ");
        } finally {
            release.countDown();
            session.shutdownNow();
        }
    }

    @Test
    void overBudgetTheGuardRaisesTheNoiseAndSendsOnlyWhatItScoredInBudget() {
        NoiseReadingProbe probe = new NoiseReadingProbe(0.9);
        LeakageGuard guard = new LeakageGuard(new LeakageGuard.Budget(0.3, 0.25f, 4f), 0, 0f, probe, 11);
        RecordingLink wire = new RecordingLink();
        BackboneLink link = guard.around(wire);
        for (long step = 0; step < 3; step++) {
            link.beforeBatch(TOKENS);
            link.forward(step, zeros(), LENGTHS, true);
        }
        LeakageGuard.Report r = guard.report();
        // 0.9 / (1 + 6σ): 0.36 at σ = 0.25, 0.23 at 0.5; so 0 -> 0.25 -> 0.5, both moves at step 0, none later.
        assertEquals(2, r.moves().size(), r.moves().toString());
        assertEquals(0.5f, r.finalStd());
        assertEquals(0.5f, guard.defence().noiseStd(), "the announced defence follows the moves");
        assertEquals(List.of(0.5f, 0.5f, 0.5f), wire.namedNoise, "each sent h_in names the σ it went through");
        assertEquals(3, wire.sent.size());
        for (HostTensor sent : wire.sent) {
            double leak = 0.9 / (1 + 6 * rms(sent));
            assertTrue(leak <= 0.3 + 0.01, "a sent batch leaks " + leak);
        }
        assertEquals(3, r.batchesChecked());
        assertTrue(r.maxLeakageSent() <= 0.3, "" + r.maxLeakageSent());
        assertNull(r.stopped());
    }

    @Test
    void whenNoAllowedNoiseMeetsTheBudgetNothingIsSentAndTheSessionStopsWithTheReason() {
        LeakageGuard guard = new LeakageGuard(new LeakageGuard.Budget(0.05, 0.25f, 1f), 8, 0f,
                new NoiseReadingProbe(0.9), 11);
        RecordingLink wire = new RecordingLink();
        BackboneLink link = guard.around(wire);
        link.beforeBatch(TOKENS);
        LeakageBudgetExceededException e = assertThrows(LeakageBudgetExceededException.class,
                () -> link.forward(0, zeros(), LENGTHS, true));
        assertTrue(e.getMessage().contains("budget 0.050") && e.getMessage().contains("not sent"), e.getMessage());
        assertEquals(0, wire.sent.size(), "nothing over budget reaches the link");
        link.beforeBatch(TOKENS);
        assertThrows(LeakageBudgetExceededException.class, () -> link.forward(1, zeros(), LENGTHS, true),
                "a stopped session stays stopped");
        assertEquals(0, wire.sent.size());
        assertEquals(e.getMessage(), guard.report().stopped());
    }

    @Test
    void aBatchWhoseTokensTheGuardWasNotGivenIsNotSent() {
        LeakageGuard guard = new LeakageGuard(new LeakageGuard.Budget(0.5, 0.25f, 1f), 0, 0f,
                new NoiseReadingProbe(0.1), 11);
        RecordingLink wire = new RecordingLink();
        BackboneLink link = guard.around(wire);
        assertThrows(IllegalStateException.class, () -> link.forward(0, zeros(), LENGTHS, false));
        link.beforeBatch(TOKENS);
        link.forward(0, zeros(), LENGTHS, false);
        assertThrows(IllegalStateException.class, () -> link.forward(1, zeros(), LENGTHS, false),
                "tokens are used once");
        assertEquals(1, wire.sent.size());
    }
}
