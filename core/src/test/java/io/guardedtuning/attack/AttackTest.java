package io.guardedtuning.attack;

import io.guardedtuning.metrics.TextLeakage;
import io.guardedtuning.model.OptConfig;
import io.guardedtuning.model.OptModel;
import io.guardedtuning.model.Split;
import io.guardedtuning.tensor.HostTensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Attacks against a tiny random-init OPT (V=64, d=32, 4 layers, k=1). The server's surrogate is the same
 * pretrained model the client runs (no fine-tuning drift), auxiliary text and client text are disjoint random
 * token streams.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AttackTest {

    static final OptConfig CONFIG = OptConfig.of(64, 32, 4, 64, 4, 32);
    static final Split SPLIT = Split.of(1, CONFIG);
    static final WireDefence STRONG = new WireDefence(2, 0.05f);
    static final SipAttack.Settings SIP_SETTINGS = new SipAttack.Settings(128, 20, 8, 3e-3f, 1e-5f, 500, 17);

    private Map<String, HostTensor> pretrained;
    private OptModel client;
    private ThreatModel clean;
    private ThreatModel adaptive;
    private List<int[]> secret;
    private Observation cleanStep;
    private double randomGuess;

    @BeforeAll
    void setUp() {
        pretrained = OptModel.randomTensors(CONFIG, 5, n -> true);
        client = OptModel.fromTensors(CONFIG, pretrained);
        List<int[]> aux = ClientSimulation.randomSequences(new Random(1), 240, 8, 16, CONFIG.vocabSize());
        clean = ThreatModel.of(CONFIG, SPLIT, pretrained, aux, ThreatModel.LossNormalisation.MEAN_OVER_TARGETS,
                WireDefence.NONE);
        // An attacker who knows the strong defence and trains SIP through it.
        adaptive = ThreatModel.of(CONFIG, SPLIT, pretrained, aux, ThreatModel.LossNormalisation.MEAN_OVER_TARGETS,
                STRONG);
        secret = ClientSimulation.randomSequences(new Random(2), 6, 8, 14, CONFIG.vocabSize());
        cleanStep = ClientSimulation.observe(client, SPLIT, secret, WireDefence.NONE, 3, true);
        List<int[]> guesses = new ArrayList<>();
        Random r = new Random(4);
        for (int[] s : secret) {
            int[] g = new int[s.length];
            for (int i = 0; i < g.length; i++) {
                g[i] = 3 + r.nextInt(CONFIG.vocabSize() - 3);
            }
            guesses.add(g);
        }
        randomGuess = TextLeakage.score(guesses, secret).rougeL();
    }

    @AfterAll
    void tearDown() {
        clean.close();
        adaptive.close();
        client.close();
    }

    private TextLeakage.Scores score(Reconstruction r) {
        assertTrue(r.succeeded(), r.attack() + ": " + r.detail());
        TextLeakage.Scores s = TextLeakage.score(r.tokens(), secret);
        System.out.printf("%-8s %s; confidence %.2f; %d ms; %s%n", r.attack(), s, r.confidence(), r.costMillis(),
                r.detail());
        return s;
    }

    @Test
    void sipRecoversCleanActivationsAndFailsThroughAStrongDefence() {
        double cleanRouge = score(new SipAttack(SIP_SETTINGS).attack(cleanStep, clean)).rougeL();
        Observation defended = ClientSimulation.observe(client, SPLIT, secret, STRONG, 3, false);
        double defendedRouge = score(new SipAttack(SIP_SETTINGS).attack(defended, adaptive)).rougeL();
        System.out.printf("SIP ROUGE-L clean %.3f, %s %.3f, random guess %.3f%n", cleanRouge, STRONG,
                defendedRouge, randomGuess);
        assertTrue(cleanRouge > 0.9, "clean " + cleanRouge);
        assertTrue(defendedRouge < 0.5 && defendedRouge < cleanRouge - 0.4, "defended " + defendedRouge);
    }

    @Test
    void sipTrainsItsInverterOncePerThreatModel() {
        SipAttack sip = new SipAttack(SIP_SETTINGS);
        sip.attack(cleanStep, clean);
        TokenInverter cached = clean.artefact("SIP " + SIP_SETTINGS + " through " + cleanStep.wire(clean), () -> {
            throw new AssertionError("the inverter was trained again");
        });
        assertTrue(cached != null);
    }

    /**
     * The self-trained attack's frame: with neither a vote nor a round it is its base attack's guess; a vote over
     * every position gives every position one token; self-training fine-tunes a copy, never the cached inverter the
     * other attacks share (their guesses stay the same after it ran).
     */
    @Test
    void selfTrainingAdaptsACopyOfItsBaseInverter() {
        SipAttack sip = new SipAttack(SIP_SETTINGS);
        List<int[]> base = sip.attack(cleanStep, clean).tokens();
        Reconstruction none = new SelfTrainedAttack(sip, new SelfTrainedAttack.Settings(0, 1, 1e-3f, 1f, 0))
                .attack(cleanStep, clean);
        assertTrue(none.succeeded(), none.detail());
        assertEquals(toString(base), toString(none.tokens()));

        Reconstruction everyone = new SelfTrainedAttack(sip, new SelfTrainedAttack.Settings(0, 1, 1e-3f, 1f, 1000))
                .attack(cleanStep, clean);
        assertTrue(everyone.succeeded(), everyone.detail());
        assertEquals(1, everyone.tokens().stream().flatMapToInt(java.util.Arrays::stream).distinct().count(),
                "a vote over all positions gives one token");

        Reconstruction trained = new SelfTrainedAttack(sip, new SelfTrainedAttack.Settings(2, 30, 1e-2f, 0.5f, 0))
                .attack(cleanStep, clean);
        assertTrue(trained.succeeded(), trained.detail());
        assertTrue(trained.detail().contains("last loss"), trained.detail());
        assertEquals(toString(base), toString(sip.attack(cleanStep, clean).tokens()),
                "self-training changed the shared, cached inverter");
    }

    /**
     * A client whose input adapter re-encodes the pretrained h_in by a secret affine map (as a privacy warm-up from a
     * secret start largely does): SIP trained on the pretrained copy reads little of it, SIP read through the map
     * that matches the observed h_in's moments to the pretrained h_in of public text reads much more. Fails if the
     * auditor's aligned reading is weakened or dropped.
     */
    @Test
    void alignedSipReadsAnAffinelyReencodedAdapter() {
        Observation reencoded = affinelyReencoded(cleanStep, 11);
        SipAttack sip = new SipAttack(SIP_SETTINGS);
        double plain = score(sip.attack(reencoded, clean)).rougeL();
        double aligned = score(new AlignedSipAttack(sip, AlignedSipAttack.Settings.defaults())
                .attack(reencoded, clean)).rougeL();
        System.out.printf("re-encoded h_in: SIP %.3f, aligned SIP %.3f, random guess %.3f%n", plain, aligned,
                randomGuess);
        assertTrue(aligned > plain + 0.25, "aligned " + aligned + " vs plain " + plain);
        String before = toString(sip.attack(cleanStep, clean).tokens());
        Reconstruction refined = new AlignedSipAttack(sip, new AlignedSipAttack.Settings(64, 1, 5, 1e-2f, 0.5f, 1e-4f))
                .attack(reencoded, clean);
        assertTrue(refined.succeeded(), "the experiments' rounds run: " + refined.detail());
        assertEquals(before, toString(sip.attack(cleanStep, clean).tokens()),
                "adapting the map changed the shared, cached inverter");
    }

    /** h_in · S + c with S = Q·diag(λ)·Qᵀ, Q a random rotation, λ spread over [0.1, 4], c a shift of norm ~30. */
    private static Observation affinelyReencoded(Observation o, long seed) {
        int d = CONFIG.hiddenSize();
        Random random = new Random(seed);
        double[][] q = new double[d][d];
        for (int i = 0; i < d; i++) {
            for (int j = 0; j < d; j++) {
                q[i][j] = random.nextGaussian();
            }
            for (int p = 0; p < i; p++) {
                double dot = 0;
                for (int j = 0; j < d; j++) {
                    dot += q[i][j] * q[p][j];
                }
                for (int j = 0; j < d; j++) {
                    q[i][j] -= dot * q[p][j];
                }
            }
            double norm = 0;
            for (int j = 0; j < d; j++) {
                norm += q[i][j] * q[i][j];
            }
            for (int j = 0; j < d; j++) {
                q[i][j] /= Math.sqrt(norm);
            }
        }
        double[] lambda = new double[d];
        double[] shift = new double[d];
        for (int i = 0; i < d; i++) {
            lambda[i] = 0.1 * Math.pow(40, (double) i / (d - 1));
            shift[i] = random.nextGaussian() * 30 / Math.sqrt(d);
        }
        float[] h = o.hIn().data();
        float[] out = new float[h.length];
        for (int at = 0; at < h.length; at += d) {
            for (int j = 0; j < d; j++) {
                double v = shift[j];
                for (int i = 0; i < d; i++) {
                    double sij = 0;
                    for (int m = 0; m < d; m++) {
                        sij += q[m][i] * lambda[m] * q[m][j];
                    }
                    v += h[at + i] * sij;
                }
                out[at + j] = (float) v;
            }
        }
        return Observation.forwardOnly(o.session(), o.step(), new HostTensor(o.hIn().shape(), out), o.lengths());
    }

    private static String toString(List<int[]> tokens) {
        return tokens.stream().map(java.util.Arrays::toString).toList().toString();
    }

    @Test
    void eiaImprovesOverARandomGuess() {
        double rouge = score(new EiaAttack().attack(cleanStep, clean)).rougeL();
        assertTrue(rouge > randomGuess + 0.3, "EIA " + rouge + " vs random " + randomGuess);
    }

    @Test
    void gradientAttacksHaveNothingToAttackWithoutAGradient() {
        Observation forwardOnly = Observation.forwardOnly("s", 1, cleanStep.hIn(), cleanStep.lengths());
        for (Attack a : List.of(new TagAttack(), new BisrBackwardAttack(new SipAttack(SIP_SETTINGS)))) {
            assertFalse(a.applicable(forwardOnly), a.name());
            Reconstruction r = a.attack(forwardOnly, clean);
            assertFalse(r.succeeded());
            assertTrue(r.detail().contains("no gradient"), r.detail());
        }
    }

    @Test
    void tagBeatsARandomGuessFromARealGradient() {
        double rouge = score(new TagAttack().attack(cleanStep, clean)).rougeL();
        assertTrue(rouge > randomGuess + 0.3, "TAG " + rouge + " vs random " + randomGuess);
    }

    @Test
    void bisrBackwardImprovesOnSipWhenOnlyTheActivationIsDefended() {
        // h_in is strongly defended, the gradient is not: SIP alone is weak, the gradient carries the labels.
        Observation step = ClientSimulation.observe(client, SPLIT, secret, STRONG, 3, true);
        SipAttack sip = new SipAttack(SIP_SETTINGS);
        double sipRouge = score(sip.attack(step, adaptive)).rougeL();
        GradientMatching.Settings settings = new GradientMatching.Settings(60, 0.09f, 0.85f, 0.01f, 1e-3f);
        double bisrRouge = score(new BisrBackwardAttack(sip, settings, 1.2f).attack(step, adaptive)).rougeL();
        assertTrue(bisrRouge > sipRouge + 0.2, "BiSR(b) " + bisrRouge + " vs SIP " + sipRouge);
    }

    @Test
    void bisrForwardCorrectsAnImperfectSipStartAndKeepsAGoodOne() {
        // A briefly trained SIP leaves errors for BiSR(f) to correct, with the auditor's default settings.
        SipAttack weakSip = new SipAttack(new SipAttack.Settings(128, 1, 8, 3e-3f, 1e-5f, 15, 17));
        BisrForwardAttack bisr = new BisrForwardAttack(weakSip, BisrForwardAttack.Settings.defaults());
        double sipClean = score(weakSip.attack(cleanStep, clean)).rougeL();
        double bisrClean = score(bisr.attack(cleanStep, clean)).rougeL();
        Observation defended = ClientSimulation.observe(client, SPLIT, secret, STRONG, 3, false);
        SipAttack sip = new SipAttack(SIP_SETTINGS);
        double sipDefended = score(sip.attack(defended, adaptive)).rougeL();
        double bisrDefended = score(new BisrForwardAttack(sip, BisrForwardAttack.Settings.defaults())
                .attack(defended, adaptive)).rougeL();
        System.out.printf("BiSR(f) vs SIP start: clean %.3f vs %.3f, %s %.3f vs %.3f%n", bisrClean, sipClean,
                STRONG, bisrDefended, sipDefended);
        assertTrue(sipClean < 0.6, "the start must leave errors to correct: " + sipClean);
        assertTrue(bisrClean > sipClean + 0.3, "BiSR(f) " + bisrClean + " vs its SIP start " + sipClean);
        assertTrue(bisrDefended >= sipDefended - 0.02, "BiSR(f) " + bisrDefended + " vs SIP " + sipDefended);
    }

    @Test
    void oddObservationsGiveAnEmptyReconstructionWithAReason() {
        HostTensor narrow = new HostTensor(new long[] {1, 3, 8}, new float[24]);
        HostTensor h = cleanStep.hIn();
        List<Observation> odd = List.of(
                Observation.forwardOnly("s", 1, narrow, new long[] {3}),
                Observation.forwardOnly("s", 1, h, new long[] {1}),
                Observation.forwardOnly("s", 1, h, new long[(int) h.shape()[0]]));
        for (Attack a : List.of(new SipAttack(SIP_SETTINGS), new EiaAttack(), new TagAttack())) {
            for (Observation o : odd) {
                Reconstruction r = a.attack(o, clean);
                assertFalse(r.succeeded(), a.name());
                assertFalse(r.detail().isBlank());
            }
        }
        Reconstruction wrongGradient = new TagAttack().attack(
                new Observation("s", 1, h, cleanStep.lengths(), narrow, narrow), clean);
        assertFalse(wrongGradient.succeeded());
        assertTrue(wrongGradient.detail().contains("g_out"), wrongGradient.detail());
        try (ThreatModel noText = ThreatModel.of(CONFIG, SPLIT, pretrained, List.of(),
                ThreatModel.LossNormalisation.MEAN_OVER_TARGETS, WireDefence.NONE)) {
            Reconstruction r = new SipAttack(SIP_SETTINGS).attack(cleanStep, noText);
            assertFalse(r.succeeded());
            assertTrue(r.detail().contains("auxiliary"), r.detail());
        }
    }

    @Test
    void theThreatModelKeepsAPretrainedSnapshotOnly() {
        Map<String, HostTensor> weights = OptModel.randomTensors(CONFIG, 9, n -> true);
        String embedding = "model.decoder.embed_tokens.weight";
        float before = weights.get(embedding).data()[0];
        try (ThreatModel tm = ThreatModel.of(CONFIG, SPLIT, weights, List.of(),
                ThreatModel.LossNormalisation.MEAN_OVER_TARGETS, WireDefence.NONE);
             OptModel fineTuned = OptModel.fromTensors(CONFIG, weights)) {
            // The client fine-tunes (here: overwrites) its weights after the threat model was built.
            weights.get(embedding).data()[0] = before + 1;
            fineTuned.load(Map.of(embedding, weights.get(embedding)));
            assertEquals(before, tm.embeddings().getFloat(0, 0), 0f);
            assertFalse(tm.pretrained().parameters().keySet().stream().anyMatch(SPLIT.backbone()),
                    "the surrogate holds client-side tensors only");
        }
    }
}
