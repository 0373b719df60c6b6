package io.guardedtuning.session;

import io.guardedtuning.wire.CodecFormat;
import io.guardedtuning.wire.CodecSpec;

/**
 * Bits per element of a tensor on the wire, as users configure them: 32 and 16 are floats, 8 and 4 uniform
 * quantisation (per token; asymmetric for activations, symmetric for gradients, whose sign matters).
 */
public final class Precision {

    private Precision() {
    }

    public static int requireSupported(String what, int bits) {
        if (bits != 32 && bits != 16 && bits != 8 && bits != 4) {
            throw new IllegalArgumentException(what + " bits must be one of 32, 16, 8, 4; got " + bits);
        }
        return bits;
    }

    public static CodecSpec activations(int bits) {
        return switch (requireSupported("activation", bits)) {
            case 32 -> CodecSpec.of(CodecFormat.FP32);
            case 16 -> CodecSpec.of(CodecFormat.FP16);
            default -> CodecSpec.activations(bits);
        };
    }

    public static CodecSpec gradients(int bits) {
        return switch (requireSupported("gradient", bits)) {
            case 32 -> CodecSpec.of(CodecFormat.FP32);
            case 16 -> CodecSpec.of(CodecFormat.FP16);
            default -> CodecSpec.gradients(bits);
        };
    }
}
