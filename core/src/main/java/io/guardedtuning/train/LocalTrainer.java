package io.guardedtuning.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import io.guardedtuning.engine.DjlRuntime;
import io.guardedtuning.model.OptModel;
import io.guardedtuning.model.TokenBatch;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * Trains chosen parameters of a whole model in one process: the centralized (non-private) reference every design
 * is compared with, and the engine of pretraining. One step = forward, loss, backward, AdamW update.
 */
public final class LocalTrainer implements AutoCloseable {

    private final OptModel model;
    private final Map<String, NDArray> trainable = new LinkedHashMap<>();
    private final AdamW optimizer;
    private final LearningRateSchedule schedule;

    public LocalTrainer(OptModel model, Predicate<String> trainableParameters, AdamW.Settings settings,
                        LearningRateSchedule schedule) {
        this.model = model;
        model.parameters().forEach((n, p) -> {
            if (trainableParameters.test(n)) {
                trainable.put(n, p);
            }
        });
        if (trainable.isEmpty()) {
            throw new IllegalArgumentException("no parameter selected for training");
        }
        model.setTrainable(trainable.keySet());
        this.optimizer = new AdamW(settings);
        this.schedule = schedule;
    }

    public StepResult step(List<int[]> sequences, int[] lossFrom) {
        long started = System.nanoTime();
        float lr = schedule.at(optimizer.step());
        double loss;
        long targets;
        try (NDManager scope = DjlRuntime.newManager();
             TokenBatch batch = TokenBatch.of(scope, sequences, lossFrom, model.config().padTokenId());
             GradientCollector gc = DjlRuntime.gradientCollector()) {
            NDArray value = LmLoss.mean(model.logits(batch), batch);
            gc.backward(value);
            loss = value.getFloat();
            targets = (long) batch.lossWeights().sum().getFloat();
        }
        double norm = optimizer.update(trainable, lr);
        return new StepResult(optimizer.step(), loss, norm, targets, (System.nanoTime() - started) / 1_000_000);
    }

    public Map<String, NDArray> trainable() {
        return java.util.Collections.unmodifiableMap(trainable);
    }

    public AdamW optimizer() {
        return optimizer;
    }

    @Override
    public void close() {
        optimizer.close();
        model.setTrainable(List.of());
    }
}
