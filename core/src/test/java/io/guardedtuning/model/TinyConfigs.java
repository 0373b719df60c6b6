package io.guardedtuning.model;

/** Small shapes that exercise every branch of the OPT math in milliseconds. */
final class TinyConfigs {

    private TinyConfigs() {
    }

    static OptConfig preLayerNorm() {
        return OptConfig.of(61, 16, 6, 32, 4, 24);
    }

    /** OPT-350m's variant: post-LN, projected embeddings, no final norm. */
    static OptConfig postLayerNormProjected() {
        return new OptConfig(61, 16, 4, 24, 2, 24, false, 8, true, true, false, "relu", 1, 2, 2, "float32");
    }
}
