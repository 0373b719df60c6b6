package io.guardedtuning.attack;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import io.guardedtuning.engine.DjlRuntime;
import io.guardedtuning.model.TokenBatch;
import io.guardedtuning.train.AdamW;

import java.util.Map;

/**
 * EIA, embedding inversion by optimisation: logits Z [B, T, V] define soft inputs {@code x̃ = softmax(Z/T)·W_E};
 * minimise {@code Σ‖f_in⁰(x̃) − h_obs‖²} over non-pad positions with AdamW, output {@code argmax Z}. The reference
 * allows 72k steps; on CPU the run is capped at {@code maxSteps} (default 300), which the detail line reports.
 */
public final class EiaAttack extends BaseAttack {

    public record Settings(int maxSteps, float learningRate, float weightDecay, float temperature) {

        public Settings {
            if (maxSteps < 1 || !(temperature > 0)) {
                throw new IllegalArgumentException("EIA needs maxSteps >= 1 and temperature > 0");
            }
        }

        /** lr 0.09, weight decay 0.01, T = 0.2 as in the reference; 300 steps as the CPU cap. */
        public static Settings defaults() {
            return new Settings(300, 0.09f, 0.01f, 0.2f);
        }
    }

    private final Settings settings;

    public EiaAttack(Settings settings) {
        this.settings = settings;
    }

    public EiaAttack() {
        this(Settings.defaults());
    }

    @Override
    public String name() {
        return "EIA";
    }

    @Override
    boolean needsGradient() {
        return false;
    }

    @Override
    Guess guess(Observation o, ThreatModel threatModel) {
        long[] lengths = o.lengths();
        long[] shape = o.hIn().shape();
        AdamW.Settings adam = new AdamW.Settings(0.9f, 0.999f, 1e-8f, settings.weightDecay(), 0f);
        try (NDManager scope = DjlRuntime.newManager(); AdamW optimizer = new AdamW(adam)) {
            NDArray observed = ThreatModel.toArray(scope, o.hIn());
            NDArray inverseTemperature = scope.create(1f / settings.temperature());
            NDArray logits = scope.zeros(new Shape(shape[0], shape[1], threatModel.config().vocabSize()));
            logits.setRequiresGradient(true);
            NDArray embeddings = threatModel.embeddings();
            float loss = Float.NaN;
            for (int step = 0; step < settings.maxSteps(); step++) {
                // Per-step arrays (including the batch's position lookups) die with the step's manager.
                try (NDManager stepScope = scope.newSubManager();
                     TokenBatch batch = threatModel.batchFor(stepScope, lengths)) {
                    stepScope.tempAttachAll(logits);
                    NDArray mask = batch.attentionMask().expandDims(-1);
                    try (GradientCollector gc = DjlRuntime.gradientCollector()) {
                        NDArray soft = logits.mul(inverseTemperature).softmax(-1).matMul(embeddings);
                        NDArray out = threatModel.inputAdapter(threatModel.pretrained().embedFrom(soft, batch), batch);
                        NDArray value = out.sub(observed).square().mul(mask).sum();
                        gc.backward(value);
                        loss = value.getFloat();
                    }
                }
                optimizer.update(Map.of("logits", logits), settings.learningRate());
            }
            try (TokenBatch batch = threatModel.batchFor(scope, lengths)) {
                NDArray tempered = DjlRuntime.withoutGradients(() -> logits.div(settings.temperature()));
                return new Guess(argmaxTokens(logits, lengths), meanMaxProbability(tempered, batch.attentionMask()),
                        String.format("%d steps (the CPU cap; the reference allows 72k), final squared error %.3g",
                                settings.maxSteps(), loss));
            }
        }
    }
}
