package io.guardedtuning.wire;

import io.guardedtuning.tensor.HostTensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Uniform 8- or 4-bit quantisation with one scale per group (per token = row of the last dimension, or per channel
 * = index of the last dimension).
 * <ul>
 * <li>asymmetric: s = (max − min)/(2^b − 1), q = round((x − min)/s) in [0, 2^b − 1], x̂ = q·s + min;</li>
 * <li>symmetric: s = max|x|/(2^(b−1) − 1), q = round(x/s) in [−(2^(b−1) − 1), 2^(b−1) − 1], x̂ = q·s.</li>
 * </ul>
 * s is stored as fp32 rounded up, so (x − min)/s never exceeds the top level and round-to-nearest keeps
 * |x − x̂| ≤ s/2 (plus the final fp32 rounding of x̂); a zero range stores s = 1. Stochastic rounding
 * (q = floor(x/s + u), u ~ U[0,1)) is unbiased with |x − x̂| &lt; s.
 * <p>
 * Layout (little-endian): G fp32 scales, then (asymmetric only) G fp32 minima, then the codes in C order — int8 one
 * byte each (unsigned for asymmetric, two's complement for symmetric), int4 two per byte, element 2j in the low
 * nibble and 2j+1 in the high nibble (an odd last element leaves the high nibble 0).
 */
final class UniformQuantCodec implements TensorCodec {

    private final int bits;
    private final ScaleGranularity granularity;
    private final boolean symmetric;
    private final SplittableRandom random;
    private final int qMin;
    private final int qMax;

    /** @param random null for round-to-nearest */
    UniformQuantCodec(int bits, ScaleGranularity granularity, boolean symmetric, SplittableRandom random) {
        if (bits != 8 && bits != 4) {
            throw new IllegalArgumentException("bits must be 8 or 4: " + bits);
        }
        this.bits = bits;
        this.granularity = granularity;
        this.symmetric = symmetric;
        this.random = random;
        this.qMax = symmetric ? (1 << (bits - 1)) - 1 : (1 << bits) - 1;
        this.qMin = symmetric ? -qMax : 0;
    }

    private static int lastDim(long[] shape) {
        return shape.length == 0 ? 1 : Math.toIntExact(shape[shape.length - 1]);
    }

    private int groupCount(long[] shape) {
        long numel = HostTensor.numel(shape);
        if (numel == 0) {
            return 0;
        }
        return Math.toIntExact(granularity == ScaleGranularity.PER_TOKEN ? numel / lastDim(shape) : lastDim(shape));
    }

    private int group(int element, int lastDim) {
        return granularity == ScaleGranularity.PER_TOKEN ? element / lastDim : element % lastDim;
    }

    @Override
    public long encodedSize(long[] shape) {
        long numel = HostTensor.numel(shape);
        long codes = bits == 8 ? numel : (numel + 1) / 2;
        return (long) groupCount(shape) * (symmetric ? 4 : 8) + codes;
    }

    @Override
    public double bytesPerElement() {
        return bits / 8.0;
    }

    @Override
    public byte[] encode(HostTensor tensor) {
        float[] x = tensor.data();
        int lastDim = lastDim(tensor.shape());
        int groups = groupCount(tensor.shape());
        float[] low = new float[groups];
        float[] high = new float[groups];
        Arrays.fill(low, Float.POSITIVE_INFINITY);
        Arrays.fill(high, Float.NEGATIVE_INFINITY);
        for (int i = 0; i < x.length; i++) {
            if (!Float.isFinite(x[i])) {
                throw new IllegalArgumentException("cannot quantise non-finite value " + x[i] + " at " + i);
            }
            int g = group(i, lastDim);
            low[g] = Math.min(low[g], x[i]);
            high[g] = Math.max(high[g], x[i]);
        }
        float[] scale = new float[groups];
        for (int g = 0; g < groups; g++) {
            double range = symmetric ? Math.max(Math.abs((double) low[g]), Math.abs((double) high[g]))
                    : (double) high[g] - low[g];
            scale[g] = roundedUpScale(range / qMax);
        }
        ByteBuffer out = ByteBuffer.allocate(Math.toIntExact(encodedSize(tensor.shape()))).order(ByteOrder.LITTLE_ENDIAN);
        for (float s : scale) {
            out.putFloat(s);
        }
        if (!symmetric) {
            for (float m : low) {
                out.putFloat(m);
            }
        }
        SplittableRandom rng = random == null ? null : nextStream();
        int codeStart = out.position();
        byte[] bytes = out.array();
        for (int i = 0; i < x.length; i++) {
            int g = group(i, lastDim);
            double level = symmetric ? x[i] / (double) scale[g] : (x[i] - (double) low[g]) / scale[g];
            double rounded = rng == null ? Math.rint(level) : Math.floor(level + rng.nextDouble());
            int q = (int) Math.max(qMin, Math.min(qMax, rounded));
            if (bits == 8) {
                bytes[codeStart + i] = (byte) q;
            } else {
                bytes[codeStart + i / 2] |= (byte) ((q & 0xF) << (4 * (i & 1)));
            }
        }
        return bytes;
    }

    private synchronized SplittableRandom nextStream() {
        return random.split();
    }

    /** The smallest positive fp32 >= the exact scale, so no value rounds past the top level; 1 for a zero range. */
    private static float roundedUpScale(double exact) {
        if (exact == 0) {
            return 1f;
        }
        float s = (float) exact;
        return s < exact || s == 0 ? Math.nextUp(s) : s;
    }

    @Override
    public HostTensor decode(long[] shape, byte[] payload) {
        TensorCodec.requireSize(encodedSize(shape), payload.length);
        int lastDim = lastDim(shape);
        int groups = groupCount(shape);
        ByteBuffer in = ByteBuffer.wrap(payload).order(ByteOrder.LITTLE_ENDIAN);
        float[] scale = new float[groups];
        float[] zero = new float[groups];
        for (int g = 0; g < groups; g++) {
            scale[g] = in.getFloat();
            if (!(Float.isFinite(scale[g]) && scale[g] > 0)) {
                throw new WireRejectionException(RejectReason.NON_FINITE, "scale " + scale[g] + " of group " + g);
            }
        }
        for (int g = 0; g < groups && !symmetric; g++) {
            zero[g] = in.getFloat();
            if (!Float.isFinite(zero[g])) {
                throw new WireRejectionException(RejectReason.NON_FINITE, "zero point " + zero[g] + " of group " + g);
            }
        }
        int codeStart = in.position();
        float[] x = new float[Math.toIntExact(HostTensor.numel(shape))];
        for (int i = 0; i < x.length; i++) {
            int q = bits == 8 ? payload[codeStart + i] : nibble(payload[codeStart + i / 2], i & 1);
            if (!symmetric) {
                q &= bits == 8 ? 0xFF : 0xF;
            } else if (q < qMin) {
                throw new WireRejectionException(RejectReason.SIZE_MISMATCH, "code " + q + " below " + qMin);
            }
            int g = group(i, lastDim);
            double value = q * (double) scale[g] + zero[g];
            // Inputs were finite; the rounded-up scale may overshoot the largest float by a hair.
            x[i] = (float) Math.max(-Float.MAX_VALUE, Math.min(Float.MAX_VALUE, value));
        }
        return new HostTensor(shape.clone(), x);
    }

    /** The signed 4-bit value in the low (0) or high (1) nibble. */
    private static int nibble(byte b, int which) {
        return (byte) (b << (4 - 4 * which)) >> 4;
    }
}
