package io.guardedtuning.train;

/** What one optimisation step did: the loss before the update, the gradient norm, the tokens it counted. */
public record StepResult(long step, double loss, double gradientNorm, long targetTokens, long millis) {
}
