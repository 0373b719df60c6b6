package io.guardedtuning.eval;

import ai.djl.ndarray.NDManager;
import io.guardedtuning.engine.DjlRuntime;
import io.guardedtuning.model.OptModel;
import io.guardedtuning.model.TokenBatch;
import io.guardedtuning.train.LmLoss;

import java.util.List;

/** Held-out perplexity: exp of the mean next-token negative log-likelihood over every predicted token. */
public final class Perplexity {

    private Perplexity() {
    }

    public record Result(double perplexity, double meanNll, long tokens) {
    }

    public static Result evaluate(OptModel model, List<int[]> sequences, int batchSize) {
        return DjlRuntime.withoutGradients(() -> {
            double nll = 0;
            long tokens = 0;
            for (int from = 0; from < sequences.size(); from += batchSize) {
                List<int[]> chunk = sequences.subList(from, Math.min(sequences.size(), from + batchSize));
                try (NDManager scope = DjlRuntime.newManager();
                     TokenBatch batch = TokenBatch.of(scope, chunk, null, model.config().padTokenId())) {
                    nll -= LmLoss.sequenceLogLikelihood(model.logits(batch), batch).sum().getFloat();
                    tokens += (long) batch.lossWeights().sum().getFloat();
                }
            }
            if (tokens == 0) {
                throw new IllegalArgumentException("perplexity needs sequences of at least two tokens");
            }
            double mean = nll / tokens;
            return new Result(Math.exp(mean), mean, tokens);
        });
    }
}
