package io.guardedtuning.privacy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;

/**
 * Per-token (per last-axis row) asymmetric b-bit quantisation of activations, as the wire applies it, for
 * simulating a design in one process and for the auditor's threat model. The byte-level codec lives in
 * {@code io.guardedtuning.wire}; this class only produces the dequantised values.
 */
public final class ActivationQuantizer {

    private final int bits;
    private final float levels;

    public ActivationQuantizer(int bits) {
        if (bits < 1 || bits > 16) {
            throw new IllegalArgumentException("bits must be in 1..16, got " + bits);
        }
        this.bits = bits;
        this.levels = (float) ((1 << bits) - 1);
    }

    public int bits() {
        return bits;
    }

    /**
     * Dequantised {@code ĥ = q·s + m}, with {@code s = (M − m)/(2^b − 1)} per row (1 for a constant row) and
     * {@code q = clamp(round((h − m)/s), 0, 2^b − 1)}. Computed on a detached copy, so scalar ops are safe even
     * when {@code h} is in a graph; the result carries no gradient.
     */
    public NDArray quantize(NDArray h) {
        NDArray x = h.stopGradient();
        NDArray low = x.min(new int[] {-1}, true);
        NDArray step = x.max(new int[] {-1}, true).sub(low).div(levels);
        step = step.add(step.eq(0f).toType(DataType.FLOAT32, false));
        NDArray q = x.sub(low).div(step).round().clip(0f, levels);
        return q.mul(step).add(low);
    }

    /**
     * The straight-through estimator inside one graph: forward value {@code ĥ}, backward identity, via
     * {@code h + stopgrad(ĥ − h)}.
     */
    public NDArray straightThrough(NDArray h) {
        return h.add(quantize(h).sub(h.stopGradient()));
    }
}
