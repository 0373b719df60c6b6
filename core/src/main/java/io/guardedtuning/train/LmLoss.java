package io.guardedtuning.train;

import ai.djl.ndarray.NDArray;
import io.guardedtuning.model.TokenBatch;

/**
 * Next-token cross-entropy averaged over the targets the batch counts. Written by hand: DJL's own losses wrap
 * scalars in short-lived tensors that autograd may read after they are freed.
 */
public final class LmLoss {

    private LmLoss() {
    }

    /** Mean negative log-likelihood of the counted targets; a scalar that backward can start from. */
    public static NDArray mean(NDArray logits, TokenBatch batch) {
        NDArray count = batch.lossWeights().sum().maximum(1f);
        return summed(logits, batch).neg().div(count);
    }

    /**
     * This part's share of a whole batch's mean: its counted targets' negative log-likelihood over the whole batch's
     * count. The shares of a batch's parts sum to {@link #mean} of the batch.
     */
    public static NDArray share(NDArray logits, TokenBatch part, float wholeBatchTargets) {
        return summed(logits, part).neg().div(Math.max(wholeBatchTargets, 1f));
    }

    /** Sum of the counted targets' log-probabilities per sequence, [B]. */
    public static NDArray sequenceLogLikelihood(NDArray logits, TokenBatch batch) {
        NDArray picked = targetLogProbs(logits, batch);
        return picked.mul(batch.lossWeights()).sum(new int[] {1});
    }

    private static NDArray summed(NDArray logits, TokenBatch batch) {
        return targetLogProbs(logits, batch).mul(batch.lossWeights()).sum();
    }

    private static NDArray targetLogProbs(NDArray logits, TokenBatch batch) {
        return logits.logSoftmax(-1).gather(batch.targets().expandDims(-1), -1).squeeze(-1);
    }
}
