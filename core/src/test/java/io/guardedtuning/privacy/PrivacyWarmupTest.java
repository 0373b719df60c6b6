package io.guardedtuning.privacy;

import ai.djl.ndarray.NDManager;
import io.guardedtuning.attack.AffineAlignment;
import io.guardedtuning.attack.Observation;
import io.guardedtuning.attack.Reconstruction;
import io.guardedtuning.attack.SipAttack;
import io.guardedtuning.attack.ThreatModel;
import io.guardedtuning.attack.WireDefence;
import io.guardedtuning.engine.DjlRuntime;
import io.guardedtuning.metrics.TextLeakage;
import io.guardedtuning.model.OptConfig;
import io.guardedtuning.model.OptModel;
import io.guardedtuning.model.Split;
import io.guardedtuning.model.TokenBatch;
import io.guardedtuning.tensor.HostTensor;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The privacy warm-up on a tiny OPT (V=64, d=32, 4 layers, k=1): the attacker's SIP trained on the pretrained copy,
 * read as it is and through the moment-matching affine map, must lose most of what it recovers once the client has
 * warmed its input adapter up, while the LM loss through the backbone (what keeps the model usable) stays near where
 * it was.
 */
class PrivacyWarmupTest {

    static final OptConfig CONFIG = OptConfig.of(64, 32, 4, 64, 4, 32);
    static final Split SPLIT = Split.of(1, CONFIG);
    static final SipAttack.Settings SIP = new SipAttack.Settings(128, 20, 8, 3e-3f, 1e-5f, 500, 17);

    @Test
    void warmupCutsThePretrainedCopyAttackAndKeepsTheModelUsable() {
        Map<String, HostTensor> pretrained = OptModel.randomTensors(CONFIG, 5, n -> true);
        Map<String, HostTensor> clientSide = HostTensor.select(pretrained, SPLIT.client());
        List<int[]> publicText = sequences(new Random(1), 240, 12, 16);
        List<int[]> secret = sequences(new Random(2), 8, 10, 14);
        try (OptModel client = OptModel.fromTensors(CONFIG, clientSide);
             OptModel backbone = OptModel.fromTensors(CONFIG, HostTensor.select(pretrained, SPLIT.backbone()));
             ForwardLeakageProbe attacker = new ForwardLeakageProbe(CONFIG, SPLIT, List.of(clientSide), publicText,
                     new ForwardLeakageProbe.Settings(SIP, null))) {
            double before = attacker.leakage(hIn(client, secret), lengths(secret), secret, WireDefence.NONE);
            double[] lossesBefore = PrivacyWarmup.losses(client, backbone, SPLIT, publicText.subList(0, 32));

            // Against the aligned reading too: dCor alone leaves it 0.81 here.
            PrivacyWarmup.Report r = PrivacyWarmup.run(new PrivacyWarmup.Recipe(150, 3e-3f, 8f, 0.3f, 8)
                    .againstAlignment(4f), client, backbone, SPLIT, publicText, 42);

            double after = attacker.leakage(hIn(client, secret), lengths(secret), secret, WireDefence.NONE);
            double[] lossesAfter = PrivacyWarmup.losses(client, backbone, SPLIT, publicText.subList(0, 32));
            assertTrue(before > 0.6, "the pretrained-copy SIP reads the undefended client: " + before);
            assertTrue(after < before - 0.3, "warm-up must cut SIP's ROUGE-L: " + before + " -> " + after);
            assertTrue(lossesAfter[1] < lossesBefore[1], "dCor² must fall: " + lossesBefore[1] + " -> "
                    + lossesAfter[1]);
            assertTrue(lossesAfter[0] < lossesBefore[0] * 1.05, "the LM loss through the backbone must stay "
                    + "bounded: " + lossesBefore[0] + " -> " + lossesAfter[0]);
            assertTrue(r.millis() >= 0 && r.recipe().startsWith("dcor-lm:"));
        }
    }

    /**
     * The same warm-up from the same secret start, with and without training against the aligned SIP reading: the
     * aligned reading (the client's own check runs it) must rebuild less of the secret rows after the one that
     * trained against it.
     */
    @Test
    void trainingAgainstTheAlignedReadingLowersWhatItRebuilds() {
        Map<String, HostTensor> pretrained = OptModel.randomTensors(CONFIG, 5, n -> true);
        Map<String, HostTensor> clientSide = HostTensor.select(pretrained, SPLIT.client());
        List<int[]> publicText = sequences(new Random(1), 240, 12, 16);
        List<int[]> secret = sequences(new Random(2), 16, 12, 16);
        PrivacyWarmup.Recipe plain = new PrivacyWarmup.Recipe(150, 3e-3f, 2f, 0.3f, 8);
        double[] leakage = new double[2];
        try (OptModel backbone = OptModel.fromTensors(CONFIG, HostTensor.select(pretrained, SPLIT.backbone()));
             ForwardLeakageProbe attacker = new ForwardLeakageProbe(CONFIG, SPLIT, List.of(clientSide), publicText,
                     new ForwardLeakageProbe.Settings(SIP, null))) {
            int i = 0;
            for (PrivacyWarmup.Recipe recipe : List.of(plain, plain.againstAlignment(4f))) {
                try (OptModel client = OptModel.fromTensors(CONFIG, clientSide)) {
                    PrivacyWarmup.run(recipe, client, backbone, SPLIT, publicText, 42);
                    leakage[i++] = attacker.leakage(hIn(client, secret), lengths(secret), secret, WireDefence.NONE);
                }
            }
        }
        System.out.printf("strongest of SIP and aligned SIP after the warm-up: %.3f; trained against the aligned "
                + "reading: %.3f%n", leakage[0], leakage[1]);
        assertTrue(leakage[1] < leakage[0] - 0.1, "plain " + leakage[0] + ", against the aligned reading "
                + leakage[1]);
    }

    /**
     * Training against the paired reading (the affine bound, which only the client can compute) lowers what SIP for
     * the pretrained adapter reads through the best affine map fitted with the true pairing on half the secret rows,
     * below what training against the moment-matching reading alone leaves.
     */
    @Test
    void trainingAgainstThePairedReadingLowersTheAffineBound() {
        Map<String, HostTensor> pretrained = OptModel.randomTensors(CONFIG, 5, n -> true);
        Map<String, HostTensor> clientSide = HostTensor.select(pretrained, SPLIT.client());
        List<int[]> publicText = sequences(new Random(1), 240, 12, 16);
        List<int[]> secret = sequences(new Random(2), 32, 12, 16);
        PrivacyWarmup.Recipe unaligned = new PrivacyWarmup.Recipe(150, 3e-3f, 2f, 0.3f, 8).againstAlignment(4f);
        double[] bound = new double[2];
        try (OptModel backbone = OptModel.fromTensors(CONFIG, HostTensor.select(pretrained, SPLIT.backbone()));
             OptModel original = OptModel.fromTensors(CONFIG, clientSide);
             ThreatModel threatModel = ThreatModel.of(CONFIG, SPLIT, clientSide, publicText,
                     ThreatModel.LossNormalisation.MEAN_OVER_TARGETS, WireDefence.NONE)) {
            HostTensor reference = hIn(original, secret);
            List<int[]> heldOut = secret.subList(secret.size() / 2, secret.size());
            int i = 0;
            for (PrivacyWarmup.Recipe recipe : List.of(unaligned, unaligned.againstPairedAlignment(4f))) {
                try (OptModel client = OptModel.fromTensors(CONFIG, clientSide)) {
                    PrivacyWarmup.run(recipe, client, backbone, SPLIT, publicText, 42);
                    AffineAlignment.HeldOut fit = AffineAlignment.HeldOut.fit(hIn(client, secret), reference,
                            lengths(secret), secret.size() / 2, 1e-4);
                    Reconstruction r = new SipAttack(SIP).attack(Observation.forwardOnly("s", 0, fit.mapped(),
                            fit.lengths()), threatModel);
                    bound[i++] = TextLeakage.score(r.tokens(), heldOut).rougeL();
                }
            }
        }
        System.out.printf("affine bound after the warm-up against the moment-matching reading: %.3f; also against "
                + "the paired reading: %.3f%n", bound[0], bound[1]);
        assertTrue(bound[1] < bound[0] - 0.1, "unaligned " + bound[0] + ", also unpaired " + bound[1]);
    }

    @Test
    void theSecretSeedGivesADifferentAdapter() {
        Map<String, HostTensor> pretrained = OptModel.randomTensors(CONFIG, 5, n -> true);
        List<int[]> publicText = sequences(new Random(1), 40, 8, 12);
        PrivacyWarmup.Recipe recipe = new PrivacyWarmup.Recipe(5, 1e-3f, 8f, 0.1f, 4);
        try (OptModel backbone = OptModel.fromTensors(CONFIG, HostTensor.select(pretrained, SPLIT.backbone()))) {
            Map<String, HostTensor> a = warmed(pretrained, backbone, recipe, publicText, 1);
            Map<String, HostTensor> again = warmed(pretrained, backbone, recipe, publicText, 1);
            Map<String, HostTensor> b = warmed(pretrained, backbone, recipe, publicText, 2);
            String w = "model.decoder.layers.0.fc1.weight";
            assertEquals(a.get(w), again.get(w), "same seed, same adapter");
            assertNotEquals(a.get(w), b.get(w), "another seed, another adapter");
        }
    }

    @Test
    void aDistilledWarmUpBringsBackThePretrainedFunctionCloserThanTheLmLoss() {
        Map<String, HostTensor> pretrained = OptModel.randomTensors(CONFIG, 5, n -> true);
        List<int[]> publicText = sequences(new Random(1), 160, 12, 16);
        List<int[]> probe = sequences(new Random(3), 16, 12, 16);
        PrivacyWarmup.Recipe lm = new PrivacyWarmup.Recipe(80, 3e-3f, 8f, 1f, 8);
        try (OptModel backbone = OptModel.fromTensors(CONFIG, HostTensor.select(pretrained, SPLIT.backbone()));
             OptModel original = OptModel.fromTensors(CONFIG, HostTensor.select(pretrained, SPLIT.client()));
             OptModel byLm = OptModel.fromTensors(CONFIG, HostTensor.select(pretrained, SPLIT.client()));
             OptModel byKd = OptModel.fromTensors(CONFIG, HostTensor.select(pretrained, SPLIT.client()))) {
            PrivacyWarmup.Report lmReport = PrivacyWarmup.run(lm, byLm, backbone, SPLIT, publicText, 42);
            PrivacyWarmup.Report kdReport = PrivacyWarmup.run(lm.distilled(), byKd, backbone, SPLIT, publicText, 42);
            assertTrue(kdReport.recipe().startsWith("dcor-kd:"), kdReport.recipe());
            float[] teacher = logProbs(original, backbone, probe);
            double klLm = meanKl(teacher, logProbs(byLm, backbone, probe));
            double klKd = meanKl(teacher, logProbs(byKd, backbone, probe));
            assertTrue(klKd < 0.8 * klLm, "distillation must recover more of the pretrained function from the same "
                    + "secret start: KL " + klKd + " vs " + klLm + " by the LM loss");
            assertTrue(kdReport.dcorAfter() < kdReport.dcorBefore(), "dCor² must still fall");
        }
    }

    @Test
    void ofSeveralSecretStartsTheClientKeepsTheOneItsOwnRowsFindMostUsable() {
        Map<String, HostTensor> pretrained = OptModel.randomTensors(CONFIG, 5, n -> true);
        List<int[]> publicText = sequences(new Random(1), 40, 8, 12);
        List<int[]> ownRows = sequences(new Random(4), 12, 8, 12);
        PrivacyWarmup.OwnRows own = new PrivacyWarmup.OwnRows(ownRows, new int[ownRows.size()]);
        PrivacyWarmup.Recipe one = new PrivacyWarmup.Recipe(5, 1e-3f, 8f, 1f, 4);
        try (OptModel backbone = OptModel.fromTensors(CONFIG, HostTensor.select(pretrained, SPLIT.backbone()));
             OptModel client = OptModel.fromTensors(CONFIG, HostTensor.select(pretrained, SPLIT.client()))) {
            PrivacyWarmup.Report r = PrivacyWarmup.runBestOf(one.bestOf(3), client, backbone, SPLIT, publicText, 7,
                    own);
            assertEquals(3, r.candidateLosses().length);
            double lowest = java.util.Arrays.stream(r.candidateLosses()).min().orElseThrow();
            assertEquals(lowest, r.candidateLosses()[r.kept()]);
            assertTrue(java.util.Arrays.stream(r.candidateLosses()).distinct().count() == 3,
                    "each candidate is its own secret start");
            assertEquals(lowest, PrivacyWarmup.answerLoss(client, backbone, SPLIT, ownRows, own.scoredFrom()), 1e-6,
                    "the client holds the kept candidate");
            // The first candidate is the client's own seed: one candidate is the plain warm-up.
            Map<String, HostTensor> single = warmed(pretrained, backbone, one, publicText, 7);
            try (OptModel first = OptModel.fromTensors(CONFIG, HostTensor.select(pretrained, SPLIT.client()))) {
                PrivacyWarmup.runBestOf(one, first, backbone, SPLIT, publicText, 7, own);
                String w = "model.decoder.layers.0.fc1.weight";
                assertEquals(single.get(w), first.toTensors(SPLIT.inputAdapter()).get(w));
            }
        }
        assertThrows(IllegalArgumentException.class, () -> PrivacyWarmup.runBestOf(
                new PrivacyWarmup.Recipe(5, 1e-3f, 8f, 1f, 4).bestOf(2), null, null, SPLIT, List.of(), 7,
                PrivacyWarmup.OwnRows.NONE), "choosing needs the client's rows");
    }

    @Test
    void recipesRoundTripAndBadOnesAreNamed() {
        PrivacyWarmup.Recipe r = new PrivacyWarmup.Recipe(120, 2e-3f, 16f, 0.2f, 6);
        assertEquals(r, PrivacyWarmup.Recipe.parse(r.spec()));
        PrivacyWarmup.Recipe announced = r.withPublicRows(600);
        assertTrue(announced.spec().endsWith(",rows=600"), announced.spec());
        assertEquals(announced, PrivacyWarmup.Recipe.parse(announced.spec()));
        assertEquals(announced.distilled(), PrivacyWarmup.Recipe.parse(announced.distilled().spec()));
        assertTrue(announced.distilled().spec().startsWith("dcor-kd:"));
        assertEquals(announced.bestOf(4), PrivacyWarmup.Recipe.parse(announced.bestOf(4).spec()));
        PrivacyWarmup.Recipe unaligned = announced.bestOf(4).againstAlignment(0.5f);
        assertTrue(unaligned.spec().endsWith(",candidates=4,unalign=0.5"), unaligned.spec());
        assertEquals(unaligned, PrivacyWarmup.Recipe.parse(unaligned.spec()));
        PrivacyWarmup.Recipe unpaired = unaligned.againstPairedAlignment(2f);
        assertTrue(unpaired.spec().endsWith(",unalign=0.5,unpair=2.0"), unpaired.spec());
        assertEquals(unpaired, PrivacyWarmup.Recipe.parse(unpaired.spec()));
        assertTrue(announced.bestOf(4).spec().endsWith(",candidates=4"), announced.bestOf(4).spec());
        assertEquals(PrivacyWarmup.Recipe.NONE, PrivacyWarmup.Recipe.parse("none"));
        assertEquals(PrivacyWarmup.Recipe.dcorLm(200, 8f), PrivacyWarmup.Recipe.parse("dcor-lm"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> PrivacyWarmup.Recipe.parse("dcor-lm:speed=3"))
                .getMessage().contains("speed"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> PrivacyWarmup.Recipe.parse("magic"))
                .getMessage().contains("magic"));
    }

    private static Map<String, HostTensor> warmed(Map<String, HostTensor> pretrained, OptModel backbone,
                                                  PrivacyWarmup.Recipe recipe, List<int[]> text, long seed) {
        try (OptModel client = OptModel.fromTensors(CONFIG, HostTensor.select(pretrained, SPLIT.client()))) {
            PrivacyWarmup.run(recipe, client, backbone, SPLIT, text, seed);
            return client.toTensors(SPLIT.inputAdapter());
        }
    }

    static HostTensor hIn(OptModel client, List<int[]> sequences) {
        return DjlRuntime.withoutGradients(() -> {
            try (NDManager scope = DjlRuntime.newManager();
                 TokenBatch b = TokenBatch.of(scope, sequences, null, CONFIG.padTokenId())) {
                return OptModel.hostCopy(client.blocks(client.embed(b), b, 0, SPLIT.k()));
            }
        });
    }

    /** Next-token log-probabilities of the client side around the backbone, flattened. */
    private static float[] logProbs(OptModel client, OptModel backbone, List<int[]> sequences) {
        return DjlRuntime.withoutGradients(() -> {
            try (NDManager scope = DjlRuntime.newManager();
                 TokenBatch b = TokenBatch.of(scope, sequences, null, CONFIG.padTokenId())) {
                var h = backbone.blocks(client.blocks(client.embed(b), b, 0, SPLIT.k()), b, SPLIT.trunkFrom(),
                        SPLIT.trunkTo());
                return OptModel.hostCopy(client.head(client.blocks(h, b, SPLIT.trunkTo(), SPLIT.layers()))
                        .logSoftmax(-1)).data();
            }
        });
    }

    /** Mean over positions of KL(teacher ‖ student), both as log-probabilities over the vocabulary. */
    private static double meanKl(float[] teacher, float[] student) {
        int v = CONFIG.vocabSize();
        double sum = 0;
        for (int i = 0; i < teacher.length; i++) {
            sum += Math.exp(teacher[i]) * (teacher[i] - student[i]);
        }
        return sum / (teacher.length / v);
    }

    static long[] lengths(List<int[]> sequences) {
        return sequences.stream().mapToLong(s -> s.length).toArray();
    }

    /** Uniform random token sequences (ids 3..vocab-1). */
    static List<int[]> sequences(Random random, int count, int minLength, int maxLength) {
        List<int[]> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            int[] s = new int[minLength + random.nextInt(maxLength - minLength + 1)];
            for (int j = 0; j < s.length; j++) {
                s[j] = 3 + random.nextInt(CONFIG.vocabSize() - 3);
            }
            out.add(s);
        }
        return out;
    }
}
