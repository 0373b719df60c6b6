package io.guardedtuning.privacy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.guardedtuning.engine.DjlRuntime;
import io.guardedtuning.model.OptModel;
import io.guardedtuning.model.TokenBatch;

/**
 * The client's training objective with the NoPeek regulariser: {@code L = L_task + α·dCor²(E(x), h_in)}, computed
 * on the client before {@code h_in} is quantised. α lives in this object's own manager as a long-lived array, so
 * the graph never holds a freed scalar.
 */
public final class PrivacyRegularizedLoss implements AutoCloseable {

    /** The three values of one step; all are attached to the step's manager. */
    public record Terms(NDArray total, NDArray task, NDArray distanceCorrelation) {
    }

    private final NDManager manager;
    private final NDArray alpha;
    private final float alphaValue;
    private final DistanceCorrelation distanceCorrelation;

    public PrivacyRegularizedLoss(float alpha, DistanceCorrelation distanceCorrelation) {
        if (!(alpha >= 0)) {
            throw new IllegalArgumentException("alpha must be >= 0, got " + alpha);
        }
        this.manager = DjlRuntime.newManager();
        this.alpha = manager.create(alpha);
        this.alphaValue = alpha;
        this.distanceCorrelation = distanceCorrelation;
    }

    public float alpha() {
        return alphaValue;
    }

    /**
     * {@code taskLoss + α·dCor²(X, hIn)}. X is the batch's token embeddings with gradients stopped: the regulariser
     * should reshape the input adapter, not the (frozen, tied) embedding table.
     */
    public Terms compute(NDArray taskLoss, OptModel model, TokenBatch batch, NDArray hIn) {
        NDArray inputs = model.tokenEmbeddings(batch).stopGradient();
        NDArray dcor = distanceCorrelation.squared(inputs, hIn, batch.attentionMask());
        return new Terms(taskLoss.add(dcor.mul(alpha)), taskLoss, dcor);
    }

    @Override
    public void close() {
        manager.close();
    }
}
