package io.guardedtuning.train;

import io.guardedtuning.data.McExample;
import io.guardedtuning.eval.McEncoder;
import io.guardedtuning.model.OptModel;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Predicate;

/**
 * Centralized (non-private) fine-tuning of chosen parameters on a multiple-choice task's training split: the
 * utility reference every design is compared with.
 */
public final class TaskFinetuner {

    public record Settings(int epochs, int batchSize, float learningRate, float weightDecay, long seed) {
        public Settings {
            if (epochs < 1 || batchSize < 1 || !(learningRate > 0)) {
                throw new IllegalArgumentException("epochs and batch size must be >= 1 and the learning rate > 0");
            }
        }

        public AdamW.Settings adam() {
            return new AdamW.Settings(0.9f, 0.999f, 1e-8f, weightDecay, 1.0f);
        }
    }

    private TaskFinetuner() {
    }

    public static int steps(int examples, Settings s) {
        return s.epochs() * ((examples + s.batchSize() - 1) / s.batchSize());
    }

    public static List<StepResult> run(OptModel model, McEncoder encoder, List<McExample> train,
                                       Predicate<String> trainable, Settings s, Consumer<StepResult> progress) {
        return run(model, encoder, train, trainable, s, steps(train.size(), s), progress);
    }

    /** Trains for exactly {@code steps} steps (in the same data order as a split session with the same seed). */
    public static List<StepResult> run(OptModel model, McEncoder encoder, List<McExample> train,
                                       Predicate<String> trainable, Settings s, int steps,
                                       Consumer<StepResult> progress) {
        TaskBatches batches = new TaskBatches(train, encoder, s.batchSize(), s.seed());
        List<StepResult> history = new ArrayList<>(steps);
        try (LocalTrainer trainer = new LocalTrainer(model, trainable, s.adam(),
                LearningRateSchedule.constant(s.learningRate()))) {
            for (int i = 0; i < steps; i++) {
                TaskBatches.Batch b = batches.next();
                StepResult r = trainer.step(b.sequences(), b.lossFrom());
                history.add(r);
                progress.accept(r);
            }
        }
        return history;
    }
}
