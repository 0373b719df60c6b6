package io.guardedtuning.attack;

import io.guardedtuning.checkpoint.ModelCatalog;
import io.guardedtuning.data.Corpus;
import io.guardedtuning.data.Document;
import io.guardedtuning.data.PackageCache;
import io.guardedtuning.data.SplitSizes;
import io.guardedtuning.data.TaskRegistry;
import io.guardedtuning.eval.McEncoder;
import io.guardedtuning.metrics.TextLeakage;
import io.guardedtuning.model.OptConfig;
import io.guardedtuning.model.OptModel;
import io.guardedtuning.model.Split;
import io.guardedtuning.model.TinyOpt;
import io.guardedtuning.privacy.PrivacyWarmup;
import io.guardedtuning.split.Design;
import io.guardedtuning.tensor.HostTensor;
import io.guardedtuning.tokenizer.BpeTokenizer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Adaptation on the bundled model and real text: a client whose input adapter a dCor privacy warm-up reshaped (from
 * its secret seed, on its own half of the public text) defeats a SIP inverter trained on the pretrained adapter; the
 * adaptive attacker, told only the announced recipe, replays it from its own seed on its half and rebuilds far more
 * of the client's private rows (the corpus' training documents, which neither half contains). If the auditor's
 * shadow stopped replaying the defence, the two would score alike and this fails.
 */
class AdaptiveAttackOnBundledModelTest {

    static final PrivacyWarmup.Recipe WARMUP = PrivacyWarmup.Recipe.dcorLm(120, 32f);
    static final SipAttack.Settings INVERTER = new SipAttack.Settings(256, 20, 8, 1e-3f, 1e-5f, 400, 17);
    static final long CLIENT_SECRET_SEED = 0x5eed_c0ffeeL;

    static OptConfig config;
    static Map<String, HostTensor> pretrained;
    static BpeTokenizer tokenizer;
    static PackageCache cache;
    static Split split;

    @BeforeAll
    static void loadBundledModel() throws Exception {
        ModelCatalog.Model model = ModelCatalog.load(TinyOpt.NAME);
        config = model.config();
        pretrained = model.tensors();
        tokenizer = model.tokenizer();
        cache = new PackageCache();
        split = Split.of(2, config);
    }

    @Test
    void theAdaptiveAttackerBeatsPlainSipOnAWarmedUpClient() throws Exception {
        List<List<int[]>> halves = PublicText.warmupHalves(cache, tokenizer, config.bosTokenId(), 480);
        List<int[]> privateRows = PublicText.rows(Corpus.load(cache).train().stream().limit(4)
                .map(Document::text).toList(), tokenizer, config.bosTokenId(), PublicText.WARMUP_ROW_TOKENS, 12);

        Observation step;
        try (OptModel client = OptModel.fromTensors(config, pretrained)) {
            PrivacyWarmup.run(WARMUP, client, client, split, halves.get(1), CLIENT_SECRET_SEED);
            step = ClientSimulation.observe(client, split, privateRows, WireDefence.NONE, 0, false)
                    .withDefence(new KnownDefence(Design.GRADFREE.id(), 0, 0f, 0f, 1e-3f, WARMUP.spec()));
        }
        double plain;
        double adaptive;
        try (ThreatModel threatModel = ThreatModel.of(config, split, pretrained, halves.get(0),
                ThreatModel.LossNormalisation.MEAN_OVER_TARGETS, WireDefence.NONE)) {
            plain = rouge(new SipAttack(INVERTER).attack(step, threatModel), privateRows);
            adaptive = rouge(AdaptiveSipAttack.underDefence(new AdaptiveSipAttack.Settings(INVERTER, 0, 8, 1e-3f))
                    .attack(step, threatModel), privateRows);
        }
        System.out.printf("warmed-up client (%s): SIP %.3f, SIP-adaptive %.3f%n", WARMUP.spec(), plain, adaptive);
        assertTrue(adaptive > plain + 0.15, "adaptive " + adaptive + " vs plain " + plain);
    }

    /**
     * The secret start is what a single shadow cannot know: its draw lands elsewhere, and its inverter reads one
     * draw's quirks. Trained on shadows from four of the provider's draws, the inverter learns what warmed adapters
     * share and rebuilds far more of a warmed client's spam rows through the 8-bit wire (0.62 against 0.10 for this
     * secret, 800 SIP steps; docs/benchmarks.md). If the auditor fell back to one draw, this fails.
     */
    @Test
    void aMixtureOfTheProvidersDrawsOfTheSecretStartBeatsOneDraw() throws Exception {
        PrivacyWarmup.Recipe recipe = new PrivacyWarmup.Recipe(200, 1e-3f, 32f, 0.1f, 8, 1200);
        List<int[]> warmupRows = PublicText.warmupHalves(cache, tokenizer, config.bosTokenId(), 1200).get(0);
        McEncoder encoder = new McEncoder(tokenizer, config.bosTokenId(), 96);
        List<int[]> privateRows = new TaskRegistry(cache, new SplitSizes(8, 1, 1), 600).resolve("spam-assassin")
                .train().stream().limit(8).map(e -> encoder.encodeAnswer(e).tokens()).toList();
        WireDefence wire = new WireDefence(8, 0f);

        Observation step;
        try (OptModel client = OptModel.fromTensors(config, pretrained)) {
            PrivacyWarmup.run(recipe, client, client, split, warmupRows, 968_722L);
            step = ClientSimulation.observe(client, split, privateRows, wire, 0, false)
                    .withDefence(new KnownDefence(Design.GRADFREE.id(), 8, 0f, 0f, 1e-3f, recipe.spec()));
        }
        SipAttack.Settings inverter = new SipAttack.Settings(256, 20, 8, 1e-3f, 1e-5f, 800, 17);
        double oneDraw;
        double mixture;
        try (ThreatModel threatModel = ThreatModel.of(config, split, pretrained, PublicText.heldOut(cache, tokenizer,
                config.bosTokenId(), PublicText.ATTACKER_MAX_ROWS, PublicText.WARMUP_ROW_TOKENS),
                ThreatModel.LossNormalisation.MEAN_OVER_TARGETS, wire, r -> warmupRows)) {
            oneDraw = rouge(AdaptiveSipAttack.underDefence(new AdaptiveSipAttack.Settings(inverter, 0, 8, 1e-3f, 1))
                    .attack(step, threatModel), privateRows);
            mixture = rouge(AdaptiveSipAttack.underDefence(new AdaptiveSipAttack.Settings(inverter, 0, 8, 1e-3f,
                    AttackCatalog.WARMUP_SEEDS)).attack(step, threatModel), privateRows);
        }
        System.out.printf("warmed-up client (%s): one draw %.3f, mixture of %d draws %.3f%n", recipe.spec(), oneDraw,
                AttackCatalog.WARMUP_SEEDS, mixture);
        assertTrue(mixture > oneDraw + 0.2, "mixture " + mixture + " vs one draw " + oneDraw);
    }

    private static double rouge(Reconstruction r, List<int[]> truth) {
        assertTrue(r.succeeded(), r.attack() + ": " + r.detail());
        TextLeakage.Scores s = TextLeakage.score(r.tokens(), truth);
        System.out.printf("%-12s %s; %d ms; %s%n", r.attack(), s, r.costMillis(), r.detail());
        return s.rougeL();
    }
}
