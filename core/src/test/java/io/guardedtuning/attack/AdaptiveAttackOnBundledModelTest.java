package io.guardedtuning.attack;

import io.guardedtuning.checkpoint.ModelCatalog;
import io.guardedtuning.data.Corpus;
import io.guardedtuning.data.Document;
import io.guardedtuning.data.PackageCache;
import io.guardedtuning.metrics.TextLeakage;
import io.guardedtuning.model.OptConfig;
import io.guardedtuning.model.OptModel;
import io.guardedtuning.model.Split;
import io.guardedtuning.model.TinyOpt;
import io.guardedtuning.privacy.PrivacyWarmup;
import io.guardedtuning.split.Design;
import io.guardedtuning.tensor.HostTensor;
import io.guardedtuning.tokenizer.BpeTokenizer;
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

    @Test
    void theAdaptiveAttackerBeatsPlainSipOnAWarmedUpClient() throws Exception {
        ModelCatalog.Model model = ModelCatalog.load(TinyOpt.NAME);
        OptConfig config = model.config();
        Map<String, HostTensor> pretrained = model.tensors();
        BpeTokenizer tokenizer = model.tokenizer();
        PackageCache cache = new PackageCache();
        List<List<int[]>> halves = PublicText.warmupHalves(cache, tokenizer, config.bosTokenId(), 480);
        List<int[]> privateRows = PublicText.rows(Corpus.load(cache).train().stream().limit(4)
                .map(Document::text).toList(), tokenizer, config.bosTokenId(), PublicText.WARMUP_ROW_TOKENS, 12);
        Split split = Split.of(2, config);

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

    private static double rouge(Reconstruction r, List<int[]> truth) {
        assertTrue(r.succeeded(), r.attack() + ": " + r.detail());
        TextLeakage.Scores s = TextLeakage.score(r.tokens(), truth);
        System.out.printf("%-12s %s; %d ms; %s%n", r.attack(), s, r.costMillis(), r.detail());
        return s.rougeL();
    }
}
