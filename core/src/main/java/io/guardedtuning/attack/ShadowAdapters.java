package io.guardedtuning.attack;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import io.guardedtuning.engine.DjlRuntime;
import io.guardedtuning.model.OptModel;
import io.guardedtuning.model.Split;
import io.guardedtuning.model.TokenBatch;
import io.guardedtuning.privacy.ActivationQuantizer;
import io.guardedtuning.privacy.ClientDefence;
import io.guardedtuning.privacy.DistanceCorrelation;
import io.guardedtuning.privacy.PrivacyWarmup;
import io.guardedtuning.tensor.HostTensor;
import io.guardedtuning.train.AdamW;
import io.guardedtuning.train.LmLoss;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Shadow adapters: what the provider can build to imitate a defended client without its secrets (Kerckhoffs). A copy
 * of the pretrained model is tuned as the announced defence would tune the client's (both adapters, Adam at the
 * session's learning rate, the LM loss plus {@code α·dCor²(E(x), h_in)}, h_in through the noise and quantiser with
 * the straight-through estimator), but on public text; its client side is the surrogate an adaptive inverter trains
 * on. An announced privacy warm-up is run first, with the provider's own seed (the client's stays secret). Gradfree
 * clients never train their input adapter after the warm-up, so their shadow is the (warmed) pretrained one.
 */
final class ShadowAdapters {

    /**
     * @param batchSequences public rows per shadow step
     * @param fallbackLearningRate used when the session announced no learning rate
     */
    record Settings(int batchSequences, float fallbackLearningRate, long seed) {

        Settings {
            if (batchSequences < 1 || !(fallbackLearningRate > 0)) {
                throw new IllegalArgumentException("shadow settings need batch >= 1 and a positive learning rate");
            }
        }
    }

    private ShadowAdapters() {
    }

    /** The client side of a shadow tuned for {@code steps} steps under {@code defence}; the caller closes it. */
    static OptModel tune(ThreatModel threatModel, KnownDefence defence, int steps, Settings settings) {
        return tune(threatModel, defence, steps, settings, ClientDefence.SHADOW_SEED);
    }

    /**
     * As {@link #tune(ThreatModel, KnownDefence, int, Settings)}, with the warm-up's secret start drawn from
     * {@code warmupSeed}: the provider's own draw, one of many it can make (the client's stays secret).
     */
    static OptModel tune(ThreatModel threatModel, KnownDefence defence, int steps, Settings settings,
                         long warmupSeed) {
        Split split = threatModel.split();
        PrivacyWarmup.Recipe warmup = PrivacyWarmup.Recipe.parse(defence.warmup());
        boolean drifts = steps > 0 && "online".equals(defence.design());
        Map<String, HostTensor> start = warmup.isNone() ? threatModel.pretrained().toTensors(split.client())
                : warmed(threatModel, warmup, warmupSeed).toTensors(split.client());
        if (!drifts) {
            return OptModel.fromTensors(threatModel.config(), start);
        }
        try (OptModel shadow = threatModel.freshWholeModel(start)) {
            drift(shadow, threatModel, defence, steps, settings);
            return OptModel.fromTensors(threatModel.config(), shadow.toTensors(split.client()));
        }
    }

    /**
     * The client side the recipe warms from {@code seed}, cached in the threat model: every drift level of a session
     * starts from the same warmed draws, so each draw is warmed once.
     */
    static OptModel warmed(ThreatModel threatModel, PrivacyWarmup.Recipe recipe, long seed) {
        Split split = threatModel.split();
        return threatModel.artefact("warmed " + recipe.spec() + " from seed " + seed, () -> {
            try (OptModel whole = threatModel.freshWholeModel()) {
                // The whole model is both the warmed client side and the stand-in the warm-up's LM loss runs through.
                PrivacyWarmup.run(recipe, whole, whole, split, threatModel.warmupText(recipe), seed);
                return OptModel.fromTensors(threatModel.config(), whole.toTensors(split.client()));
            }
        });
    }

    /** Tunes the shadow's adapters for {@code steps} steps as the client does: LM loss through the wire's defence. */
    private static void drift(OptModel shadow, ThreatModel threatModel, KnownDefence defence, int steps,
                              Settings settings) {
        Split split = threatModel.split();
        float lr = defence.learningRate() > 0 ? defence.learningRate() : settings.fallbackLearningRate();
        List<int[]> rows = threatModel.auxiliary();
        Random random = new Random(settings.seed());
        ActivationQuantizer quantizer = defence.wire().activationBits() == 0 ? null
                : new ActivationQuantizer(defence.wire().activationBits());
        DistanceCorrelation dCor = DistanceCorrelation.perToken();
        try (NDManager constants = DjlRuntime.newManager();
             AdamW optimizer = new AdamW(new AdamW.Settings(0.9f, 0.999f, 1e-8f, 0f, 1f))) {
            NDArray alpha = constants.create(defence.alpha());
            Map<String, NDArray> trainable = new LinkedHashMap<>();
            shadow.parameters().forEach((n, p) -> {
                if (split.adapters().test(n)) {
                    trainable.put(n, p);
                }
            });
            shadow.setTrainable(trainable.keySet());
            for (int step = 0; step < steps; step++) {
                List<int[]> batchRows = new ArrayList<>();
                for (int i = 0; i < settings.batchSequences(); i++) {
                    batchRows.add(rows.get(random.nextInt(rows.size())));
                }
                long noiseSeed = random.nextLong();
                try (NDManager scope = DjlRuntime.newManager();
                     TokenBatch batch = TokenBatch.of(scope, batchRows, null, threatModel.config().padTokenId())) {
                    try (GradientCollector gc = DjlRuntime.gradientCollector()) {
                        NDArray embeddings = shadow.tokenEmbeddings(batch);
                        NDArray hIn = shadow.blocks(shadow.embed(batch), batch, 0, split.k());
                        NDArray wire = onWire(hIn, defence.wire(), quantizer, noiseSeed);
                        NDArray loss = LmLoss.mean(shadow.head(shadow.blocks(wire, batch, split.k(), split.layers())),
                                batch);
                        if (defence.alpha() > 0) {
                            loss = loss.add(dCor.squared(embeddings.stopGradient(), hIn, batch.attentionMask())
                                    .mul(alpha));
                        }
                        gc.backward(loss);
                    }
                }
                optimizer.update(trainable, lr);
            }
            shadow.setTrainable(List.of());
        }
    }

    /** h_in as the backbone receives it: noise added, then quantised; the gradient passes straight through. */
    private static NDArray onWire(NDArray hIn, WireDefence wire, ActivationQuantizer quantizer, long seed) {
        NDArray out = wire.noiseStd() > 0 ? hIn.add(wire.noise(hIn, seed)) : hIn;
        return quantizer == null ? out : quantizer.straightThrough(out);
    }
}
