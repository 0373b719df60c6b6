package io.guardedtuning.split;

import ai.djl.ndarray.NDArray;
import io.guardedtuning.model.TokenBatch;

/** A differentiable penalty on what leaves the client, e.g. α · dCor²(E(x), h_in). */
@FunctionalInterface
public interface ActivationRegularizer {

    /** Returns a scalar to add to the loss, or null for none. */
    NDArray penalty(NDArray tokenEmbeddings, NDArray hIn, TokenBatch batch);

    ActivationRegularizer NONE = (e, h, b) -> null;
}
