package io.guardedtuning.split;

/** What one client training step did and cost. */
public record ClientStep(long step, double taskLoss, double penalty, double gradientNorm, long targetTokens,
                         long clientMillis, boolean backboneCached) {
}
