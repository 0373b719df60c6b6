package io.guardedtuning.privacy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.guardedtuning.engine.DjlRuntime;
import io.guardedtuning.model.TokenBatch;
import io.guardedtuning.split.ActivationRegularizer;

/**
 * The NoPeek regulariser as a penalty on what leaves the client: {@code α·dCor²(E(x), h_in)}, added to the task loss
 * so that {@code L = L_task + α·dCor²}. Computed on the client before {@code h_in} is quantised. α lives in this
 * object's own manager as a long-lived array, so the graph never holds a freed scalar.
 */
public final class DistanceCorrelationPenalty implements ActivationRegularizer, AutoCloseable {

    private final NDManager manager;
    private final NDArray alpha;
    private final float alphaValue;
    private final DistanceCorrelation distanceCorrelation;

    public DistanceCorrelationPenalty(float alpha, DistanceCorrelation distanceCorrelation) {
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
     * {@code α·dCor²(X, hIn)}. X is the batch's token embeddings with gradients stopped: the regulariser should
     * reshape the input adapter, not the (frozen, tied) embedding table.
     */
    @Override
    public NDArray penalty(NDArray tokenEmbeddings, NDArray hIn, TokenBatch batch) {
        return distanceCorrelation.squared(tokenEmbeddings.stopGradient(), hIn, batch.attentionMask()).mul(alpha);
    }

    @Override
    public void close() {
        manager.close();
    }
}
