package io.guardedtuning.attack;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.internal.NDArrayEx;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import io.guardedtuning.engine.DjlRuntime;
import io.guardedtuning.model.OptModel;
import io.guardedtuning.model.TokenBatch;
import io.guardedtuning.train.AdamW;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * SIP's learned inverter: a per-token MLP (parameter-free layer norm → Linear(d→H) → ReLU → Linear(H→V)) in place
 * of the reference GRU. At the input adapter's output the token at position t dominates h_t, so a per-token model
 * suffices and is cheaper and simpler to train by hand; the layer norm makes it insensitive to the activation scale.
 */
final class TokenInverter implements AutoCloseable {

    private static final float LAYER_NORM_EPS = 1e-5f;

    private final NDManager manager;
    private final Map<String, NDArray> parameters = new LinkedHashMap<>();
    private final NDArray unitWeight;
    private final NDArray zeroBias;
    private final int width;
    private int trainingSteps;
    private float trainingLoss = Float.NaN;
    private long trainingMillis;

    private TokenInverter(int width, int hiddenUnits, int vocab, Random random) {
        this.manager = DjlRuntime.newManager();
        this.width = width;
        this.unitWeight = manager.ones(new Shape(width));
        this.zeroBias = manager.zeros(new Shape(width));
        parameters.put("hidden.weight", gaussian(new Shape(hiddenUnits, width), 1 / Math.sqrt(width), random));
        parameters.put("hidden.bias", manager.zeros(new Shape(hiddenUnits)));
        parameters.put("out.weight", gaussian(new Shape(vocab, hiddenUnits), 1 / Math.sqrt(hiddenUnits), random));
        parameters.put("out.bias", manager.zeros(new Shape(vocab)));
        parameters.values().forEach(p -> p.setRequiresGradient(true));
    }

    /** A new inverter holding a copy of {@code source}'s weights, to fine-tune without touching the cached one. */
    private TokenInverter(TokenInverter source) {
        this.manager = DjlRuntime.newManager();
        this.width = source.width;
        this.unitWeight = manager.ones(new Shape(width));
        this.zeroBias = manager.zeros(new Shape(width));
        source.parameters.forEach((name, p) -> {
            NDArray copy = p.duplicate();
            copy.attach(manager);
            parameters.put(name, copy);
        });
        parameters.values().forEach(p -> p.setRequiresGradient(true));
        this.trainingSteps = source.trainingSteps;
        this.trainingLoss = source.trainingLoss;
        this.trainingMillis = source.trainingMillis;
    }

    TokenInverter copy() {
        return DjlRuntime.withoutGradients(() -> new TokenInverter(this));
    }

    /**
     * Fine-tunes on fixed activations {@code h} [N, d] toward token ids {@code targets} [N]: {@code steps} full-batch
     * Adam steps on the mean cross-entropy. Returns the last loss.
     */
    float fit(NDArray h, NDArray targets, int steps, float learningRate) {
        float loss = Float.NaN;
        try (AdamW optimizer = new AdamW(new AdamW.Settings(0.9f, 0.999f, 1e-8f, 0f, 0f))) {
            for (int i = 0; i < steps; i++) {
                try (NDManager scope = DjlRuntime.newManager()) {
                    NDArray x = h.duplicate();
                    x.attach(scope);
                    try (GradientCollector gc = DjlRuntime.gradientCollector()) {
                        NDArray picked = logits(x).logSoftmax(-1).gather(targets.expandDims(-1), -1);
                        NDArray mean = picked.mean().neg();
                        gc.backward(mean);
                        loss = mean.getFloat();
                    }
                }
                optimizer.update(parameters, learningRate);
            }
        }
        return loss;
    }

    private NDArray gaussian(Shape shape, double std, Random random) {
        float[] data = new float[Math.toIntExact(shape.size())];
        for (int i = 0; i < data.length; i++) {
            data[i] = (float) (random.nextGaussian() * std);
        }
        return manager.create(data, shape);
    }

    /** Where training activations come from: a client-side surrogate (pretrained or shadow) and the wire after it. */
    record Source(OptModel surrogate, WireDefence wire) {
    }

    /**
     * Trains on (activation, token) pairs from the sources' input adapters over the auxiliary sequences, each batch
     * passed through its source's wire defence with fresh noise; with several sources (a mixture over defence
     * settings) the batches take them in turn. Stops after {@code epochs} or {@code maxSteps}.
     */
    static TokenInverter train(ThreatModel threatModel, SipAttack.Settings settings, List<Source> sources) {
        List<int[]> aux = threatModel.auxiliary();
        if (aux.isEmpty()) {
            throw new IllegalStateException("SIP needs auxiliary text in the threat model");
        }
        long started = System.nanoTime();
        Random random = new Random(settings.seed());
        TokenInverter inverter = new TokenInverter(threatModel.config().hiddenSize(), settings.hiddenUnits(),
                threatModel.config().vocabSize(), random);
        AdamW.Settings adam = new AdamW.Settings(0.9f, 0.999f, 1e-8f, settings.weightDecay(), 0f);
        try (AdamW optimizer = new AdamW(adam)) {
            List<Integer> order = new ArrayList<>();
            for (int i = 0; i < aux.size(); i++) {
                order.add(i);
            }
            for (int epoch = 0; epoch < settings.epochs() && inverter.trainingSteps < settings.maxSteps(); epoch++) {
                Collections.shuffle(order, random);
                for (int from = 0; from < order.size() && inverter.trainingSteps < settings.maxSteps();
                     from += settings.batchSequences()) {
                    List<int[]> batch = new ArrayList<>();
                    for (int i = from; i < Math.min(order.size(), from + settings.batchSequences()); i++) {
                        batch.add(aux.get(order.get(i)));
                    }
                    Source source = sources.get(inverter.trainingSteps % sources.size());
                    inverter.trainingLoss = inverter.step(threatModel, source, batch, random.nextLong());
                    optimizer.update(inverter.parameters, settings.learningRate());
                    inverter.trainingSteps++;
                }
            }
        } catch (RuntimeException e) {
            inverter.close();
            throw e;
        }
        inverter.trainingMillis = (System.nanoTime() - started) / 1_000_000;
        return inverter;
    }

    /** Forward and backward of the mean cross-entropy over the batch's real tokens; gradients are left for AdamW. */
    private float step(ThreatModel threatModel, Source source, List<int[]> sequences, long noiseSeed) {
        int k = threatModel.split().k();
        try (NDManager scope = DjlRuntime.newManager();
             TokenBatch batch = TokenBatch.of(scope, sequences, null, threatModel.config().padTokenId())) {
            OptModel s = source.surrogate();
            NDArray h = DjlRuntime.withoutGradients(() -> source.wire().apply(
                    s.blocks(s.embed(batch), batch, 0, k), noiseSeed));
            NDArray mask = batch.attentionMask();
            try (GradientCollector gc = DjlRuntime.gradientCollector()) {
                NDArray picked = logits(h).logSoftmax(-1).gather(batch.inputIds().expandDims(-1), -1).squeeze(-1);
                NDArray loss = picked.mul(mask).sum().neg().div(mask.sum());
                gc.backward(loss);
                return loss.getFloat();
            }
        }
    }

    /** Token logits [B, T, V] for activations [B, T, d]; attached to the activations' manager. */
    NDArray logits(NDArray h) {
        NDArray x = ex(h).layerNorm(h, new Shape(width), unitWeight, zeroBias, LAYER_NORM_EPS).singletonOrThrow();
        x = ex(x).linear(x, parameters.get("hidden.weight"), parameters.get("hidden.bias")).singletonOrThrow();
        x = ex(x).relu();
        return ex(x).linear(x, parameters.get("out.weight"), parameters.get("out.bias")).singletonOrThrow();
    }

    private static NDArrayEx ex(NDArray a) {
        return a.getNDArrayInternal();
    }

    String summary() {
        return String.format("per-token MLP inverter, %d training steps in %d ms, final loss %.3f", trainingSteps,
                trainingMillis, trainingLoss);
    }

    @Override
    public void close() {
        manager.close();
    }
}
