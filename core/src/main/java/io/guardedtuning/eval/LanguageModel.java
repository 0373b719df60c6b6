package io.guardedtuning.eval;

import ai.djl.ndarray.NDArray;
import io.guardedtuning.model.TokenBatch;

/**
 * Anything that maps a batch to next-token logits: a whole local model, or the client's view of a split model
 * whose middle runs elsewhere. Evaluation is written against this so every design is scored the same way.
 */
@FunctionalInterface
public interface LanguageModel {
    NDArray logits(TokenBatch batch);
}
