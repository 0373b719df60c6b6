package io.guardedtuning.wire;

/** Which elements share a quantisation scale (and zero point). */
public enum ScaleGranularity {
    /** One scale per row of the last dimension: one token's hidden vector. */
    PER_TOKEN,
    /** One scale per index of the last dimension, across all rows. */
    PER_CHANNEL
}
