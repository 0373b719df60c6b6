package io.guardedtuning.eval;

import ai.djl.ndarray.NDManager;
import io.guardedtuning.data.McExample;
import io.guardedtuning.engine.DjlRuntime;
import io.guardedtuning.model.TokenBatch;
import io.guardedtuning.train.LmLoss;

import java.util.ArrayList;
import java.util.List;

/**
 * lm-eval-harness style multiple choice: each choice is scored by the summed log-likelihood of its tokens after
 * the context; {@code acc} picks the highest sum, {@code acc_norm} the highest sum per character of the choice.
 */
public final class MultipleChoiceEvaluator {

    public record Result(int examples, double accuracy, double normalizedAccuracy, int[] predictions) {
    }

    private final McEncoder encoder;
    private final int batchSize;
    private final int padTokenId;

    public MultipleChoiceEvaluator(McEncoder encoder, int padTokenId, int batchSize) {
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
        }
        this.encoder = encoder;
        this.padTokenId = padTokenId;
        this.batchSize = batchSize;
    }

    public Result evaluate(LanguageModel model, List<McExample> examples) {
        if (examples.isEmpty()) {
            throw new IllegalArgumentException("no examples to evaluate");
        }
        List<McEncoder.Encoded> all = new ArrayList<>();
        for (McExample e : examples) {
            for (String choice : e.choices()) {
                all.add(encoder.encode(e.context(), choice));
            }
        }
        double[] scores = DjlRuntime.withoutGradients(() -> score(model, all));
        int correct = 0;
        int correctNorm = 0;
        int[] predictions = new int[examples.size()];
        int at = 0;
        for (int i = 0; i < examples.size(); i++) {
            McExample e = examples.get(i);
            int best = 0;
            int bestNorm = 0;
            double bestScore = Double.NEGATIVE_INFINITY;
            double bestNormScore = Double.NEGATIVE_INFINITY;
            for (int c = 0; c < e.choices().size(); c++) {
                double s = scores[at + c];
                double n = s / Math.max(1, e.choices().get(c).length());
                if (s > bestScore) {
                    bestScore = s;
                    best = c;
                }
                if (n > bestNormScore) {
                    bestNormScore = n;
                    bestNorm = c;
                }
            }
            at += e.choices().size();
            predictions[i] = best;
            correct += best == e.label() ? 1 : 0;
            correctNorm += bestNorm == e.label() ? 1 : 0;
        }
        return new Result(examples.size(), (double) correct / examples.size(),
                (double) correctNorm / examples.size(), predictions);
    }

    private double[] score(LanguageModel model, List<McEncoder.Encoded> sequences) {
        double[] out = new double[sequences.size()];
        for (int from = 0; from < sequences.size(); from += batchSize) {
            int to = Math.min(sequences.size(), from + batchSize);
            List<int[]> tokens = new ArrayList<>();
            int[] scoredFrom = new int[to - from];
            for (int i = from; i < to; i++) {
                tokens.add(sequences.get(i).tokens());
                scoredFrom[i - from] = sequences.get(i).scoredFrom();
            }
            try (NDManager scope = DjlRuntime.newManager();
                 TokenBatch batch = TokenBatch.of(scope, tokens, scoredFrom, padTokenId)) {
                float[] ll = LmLoss.sequenceLogLikelihood(model.logits(batch), batch).toFloatArray();
                for (int i = 0; i < ll.length; i++) {
                    out[from + i] = ll[i];
                }
            }
        }
        return out;
    }
}
