package io.guardedtuning.train;

import io.guardedtuning.eval.Perplexity;
import io.guardedtuning.model.OptModel;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Consumer;

/**
 * Causal-LM pretraining of a whole model on a token stream: random windows of {@code sequenceLength} tokens,
 * AdamW with warm-up and cosine decay, held-out perplexity at the end. Deterministic for a given seed.
 */
public final class Pretrainer {

    public record Settings(int steps, int batchSize, int sequenceLength, float learningRate, int warmupSteps,
                           float weightDecay, long seed, int heldOutWindows) {
        public Settings {
            if (steps < 1 || batchSize < 1 || sequenceLength < 2 || heldOutWindows < 1) {
                throw new IllegalArgumentException("steps, batch size, held-out windows must be >= 1 and sequence "
                        + "length >= 2");
            }
        }
    }

    public record Report(int steps, long tokensTrained, double tokensPerSecond, double firstLoss, double lastLoss,
                         Perplexity.Result heldOut, long wallMillis, List<StepResult> history) {
    }

    private Pretrainer() {
    }

    /**
     * Trains {@code model} in place. {@code trainStream} and {@code heldOutStream} are concatenated documents with
     * separators; each must hold at least one window.
     */
    public static Report run(OptModel model, int[] trainStream, int[] heldOutStream, Settings s,
                             Consumer<StepResult> progress) {
        if (trainStream.length <= s.sequenceLength()) {
            throw new IllegalArgumentException("the training stream has " + trainStream.length
                    + " tokens, fewer than one window of " + s.sequenceLength());
        }
        if (s.sequenceLength() > model.config().maxPositionEmbeddings()) {
            throw new IllegalArgumentException("sequence length " + s.sequenceLength() + " exceeds the model's "
                    + model.config().maxPositionEmbeddings() + " positions");
        }
        SplittableRandom rnd = new SplittableRandom(s.seed());
        LearningRateSchedule schedule = new LearningRateSchedule(s.learningRate(), s.warmupSteps(), s.steps(), 0.1f);
        AdamW.Settings adam = new AdamW.Settings(0.9f, 0.95f, 1e-8f, s.weightDecay(), 1.0f);
        List<StepResult> history = new ArrayList<>();
        long started = System.nanoTime();
        long tokens = 0;
        try (LocalTrainer trainer = new LocalTrainer(model, n -> true, adam, schedule)) {
            for (int step = 0; step < s.steps(); step++) {
                List<int[]> batch = new ArrayList<>(s.batchSize());
                for (int b = 0; b < s.batchSize(); b++) {
                    int from = rnd.nextInt(trainStream.length - s.sequenceLength());
                    batch.add(java.util.Arrays.copyOfRange(trainStream, from, from + s.sequenceLength()));
                }
                StepResult r = trainer.step(batch, null);
                tokens += r.targetTokens();
                history.add(r);
                progress.accept(r);
            }
        }
        long wall = (System.nanoTime() - started) / 1_000_000;
        Perplexity.Result heldOut = Perplexity.evaluate(model, windows(heldOutStream, s.sequenceLength(),
                s.heldOutWindows()), s.batchSize());
        return new Report(s.steps(), tokens, tokens * 1000.0 / Math.max(1, wall), history.get(0).loss(),
                tailMean(history, 20), heldOut, wall, history);
    }

    /** Consecutive non-overlapping windows from the start of a stream. */
    public static List<int[]> windows(int[] stream, int length, int max) {
        List<int[]> out = new ArrayList<>();
        for (int from = 0; from + length <= stream.length && out.size() < max; from += length) {
            out.add(java.util.Arrays.copyOfRange(stream, from, from + length));
        }
        if (out.isEmpty() && stream.length >= 2) {
            out.add(stream.clone());
        }
        return out;
    }

    private static double tailMean(List<StepResult> h, int n) {
        double sum = 0;
        int from = Math.max(0, h.size() - n);
        for (int i = from; i < h.size(); i++) {
            sum += h.get(i).loss();
        }
        return sum / (h.size() - from);
    }
}
