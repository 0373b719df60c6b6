package io.guardedtuning.privacy;

import io.guardedtuning.attack.BisrForwardAttack;
import io.guardedtuning.attack.SipAttack;
import io.guardedtuning.attack.WireDefence;
import io.guardedtuning.model.OptModel;
import io.guardedtuning.tensor.HostTensor;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Random;

import static io.guardedtuning.privacy.PrivacyWarmupTest.CONFIG;
import static io.guardedtuning.privacy.PrivacyWarmupTest.SPLIT;
import static io.guardedtuning.privacy.PrivacyWarmupTest.hIn;
import static io.guardedtuning.privacy.PrivacyWarmupTest.lengths;
import static io.guardedtuning.privacy.PrivacyWarmupTest.sequences;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The budget's check is the auditor's forward attack, not SIP alone: on a tiny random OPT (V=64, d=32, k=1) with a
 * briefly trained SIP whose guess leaves errors, BiSR(f) refining it rebuilds what SIP misses, and a guard that
 * checks with it raises the noise where a SIP-only guard would have sent the batch.
 */
class ForwardLeakageProbeTest {

    /** 15 optimiser steps: a start with errors for BiSR(f) to correct (AttackTest's imperfect start). */
    static final SipAttack.Settings WEAK_SIP = new SipAttack.Settings(128, 1, 8, 3e-3f, 1e-5f, 15, 17);

    @Test
    void theCheckCountsBisrForwardAndTheGuardTightensOnIt() {
        Map<String, HostTensor> clientSide = HostTensor.select(OptModel.randomTensors(CONFIG, 5, n -> true),
                SPLIT.client());
        List<int[]> publicText = sequences(new Random(1), 240, 8, 16);
        List<int[]> secret = sequences(new Random(2), 6, 8, 14);
        long[] lengths = lengths(secret);
        try (OptModel client = OptModel.fromTensors(CONFIG, clientSide);
             ForwardLeakageProbe sipOnly = new ForwardLeakageProbe(CONFIG, SPLIT, List.of(clientSide), publicText,
                     new ForwardLeakageProbe.Settings(WEAK_SIP, null));
             ForwardLeakageProbe refined = new ForwardLeakageProbe(CONFIG, SPLIT, List.of(clientSide), publicText,
                     new ForwardLeakageProbe.Settings(WEAK_SIP, BisrForwardAttack.Settings.defaults()))) {
            HostTensor h = hIn(client, secret);
            double sip = sipOnly.leakage(h, lengths, secret, WireDefence.NONE);
            double strongest = refined.leakage(h, lengths, secret, WireDefence.NONE);
            List<String> attacks = refined.reconstruct(h, lengths, WireDefence.NONE).stream()
                    .map(ForwardLeakageProbe.Guess::attack).toList();
            System.out.printf("client's check: SIP %.3f, with BiSR(f) %.3f%n", sip, strongest);
            assertEquals(List.of("SIP", "SIP-aligned", "BiSR(f)"), attacks);
            assertTrue(sip < 0.6, "the start must leave errors: SIP " + sip);
            assertTrue(strongest > sip + 0.3, "BiSR(f) must count in the check: " + sip + " -> " + strongest);

            double budget = (sip + strongest) / 2;
            assertEquals(0, guardedMoves(sipOnly, budget, h, secret),
                    "a SIP-only check sends what BiSR(f) rebuilds over budget");
            assertTrue(guardedMoves(refined, budget, h, secret) > 0, "the full check must tighten before sending");
        }
    }

    @Test
    void aWarmedClientIsAlsoCheckedWithTheAuditorsMixtureOfShadows() {
        Map<String, HostTensor> pretrained = OptModel.randomTensors(CONFIG, 5, n -> true);
        Map<String, HostTensor> clientSide = HostTensor.select(pretrained, SPLIT.client());
        List<int[]> publicText = sequences(new Random(1), 80, 8, 12);
        List<int[]> secret = sequences(new Random(2), 4, 8, 12);
        PrivacyWarmup.Recipe recipe = new PrivacyWarmup.Recipe(3, 1e-3f, 8f, 0.1f, 4);
        try (OptModel client = OptModel.fromTensors(CONFIG, clientSide);
             ForwardLeakageProbe probe = new ForwardLeakageProbe(CONFIG, SPLIT, List.of(clientSide), publicText,
                     new ForwardLeakageProbe.Settings(WEAK_SIP, null),
                     new ForwardLeakageProbe.WarmupMixture(pretrained, recipe, publicText, 2))) {
            List<ForwardLeakageProbe.Guess> guesses = probe.reconstruct(hIn(client, secret), lengths(secret),
                    WireDefence.NONE);
            assertEquals(List.of("SIP", "SIP-aligned", "SIP", "SIP-aligned", "SIP-adaptive"), guesses.stream()
                    .map(ForwardLeakageProbe.Guess::attack).toList());
            assertEquals(List.of(0, 0, 1, 1, 2), guesses.stream().map(ForwardLeakageProbe.Guess::weights).toList(),
                    "the pretrained copy, the first draw's shadow, then the mixture");
            assertEquals(secret.size(), guesses.get(4).tokens().size());
        }
    }

    /** How many times a guard with {@code probe} raised σ before sending one batch. */
    private static int guardedMoves(LeakageProbe probe, double budget, HostTensor h, List<int[]> secret) {
        LeakageGuard guard = new LeakageGuard(new LeakageGuard.Budget(budget, 0.25f, 64f), 0, 0f, probe, 11);
        LeakageGuardTest.RecordingLink wire = new LeakageGuardTest.RecordingLink();
        var link = guard.around(wire);
        link.beforeBatch(secret);
        link.forward(0, h, lengths(secret), true);
        assertEquals(1, wire.sent.size());
        return guard.report().moves().size();
    }
}
