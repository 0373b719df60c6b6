package io.guardedtuning.wire;

import io.guardedtuning.tensor.HostTensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.ForkJoinPool;
import java.util.stream.IntStream;

/**
 * Uniform 8- or 4-bit quantisation with one scale per group (per token = row of the last dimension, or per channel
 * = index of the last dimension).
 * <ul>
 * <li>asymmetric: s = (max − min)/(2^b − 1), q = round((x − min)/s) in [0, 2^b − 1], x̂ = q·s + min;</li>
 * <li>symmetric: s = max|x|/(2^(b−1) − 1), q = round(x/s) in [−(2^(b−1) − 1), 2^(b−1) − 1], x̂ = q·s.</li>
 * </ul>
 * s is stored as fp32 rounded up, so (x − min)/s never exceeds the top level and round-to-nearest keeps
 * |x − x̂| ≤ s/2 (plus the final fp32 rounding of x̂); a zero range stores s = 1. Stochastic rounding
 * (q = floor(x/s + u), u uniform on the 2^24 multiples of 2^-24 in [0, 1)) is unbiased to 2^-24 of a step, with
 * |x − x̂| &lt; s; its seeded codes depend on the seed and the shape only (one stream per block of rows).
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

    /** Below this many elements a tensor is coded on the calling thread alone: handing off would cost more. */
    private static final long PARALLEL_MIN_ELEMENTS = 1 << 20;
    /** The common pool's workers and the calling thread, which takes part in the parallel stream. */
    private static final int PARALLELISM = ForkJoinPool.getCommonPoolParallelism() + 1;

    /**
     * Elements coded from one random stream under stochastic rounding. Each block of rows takes its own stream,
     * split from the tensor's in block order, so the blocks can be coded in parallel and the codes depend only on
     * the seed and the shape, never on the number of threads.
     */
    private static final int STREAM_ELEMENTS = 1 << 16;

    /** Work on rows [fromRow, toRow) of one block. */
    @FunctionalInterface
    private interface RowBlock {
        void run(int block, int fromRow, int toRow);
    }

    /** Blocks may run on separate threads: a large tensor, and no int4 byte shared by two rows' nibbles. */
    private boolean parallel(int rows, int lastDim) {
        return (bits == 8 || lastDim % 2 == 0) && (long) rows * lastDim >= PARALLEL_MIN_ELEMENTS;
    }

    /** One block per thread when coding in parallel, else one. */
    private int threadBlocks(int rows, int lastDim) {
        return parallel(rows, lastDim) ? Math.min(rows, PARALLELISM) : 1;
    }

    /** Stochastic rounding's blocks: whole rows, about {@link #STREAM_ELEMENTS} each. */
    private static int streamBlocks(int rows, int lastDim) {
        int rowsPerStream = Math.max(1, STREAM_ELEMENTS / Math.max(1, lastDim));
        return Math.max(1, (rows + rowsPerStream - 1) / rowsPerStream);
    }

    private static void forBlocks(int rows, int blocks, boolean parallel, RowBlock task) {
        IntStream range = IntStream.range(0, blocks);
        (parallel && blocks > 1 ? range.parallel() : range).forEach(b -> task.run(b,
                (int) ((long) rows * b / blocks), (int) ((long) rows * (b + 1) / blocks)));
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
        long[] shape = tensor.shape();
        int lastDim = lastDim(shape);
        int groups = groupCount(shape);
        int rows = x.length == 0 ? 0 : x.length / lastDim;
        boolean parallel = parallel(rows, lastDim);
        float[] low = new float[groups];
        float[] high = new float[groups];
        rangePerGroup(x, rows, lastDim, threadBlocks(rows, lastDim), low, high);
        double[] zero = new double[groups];
        double[] inverse = new double[groups];
        ByteBuffer out = ByteBuffer.allocate(Math.toIntExact(encodedSize(shape))).order(ByteOrder.LITTLE_ENDIAN);
        for (int g = 0; g < groups; g++) {
            if (!Float.isFinite(low[g]) || !Float.isFinite(high[g])) {
                throw nonFinite(x);
            }
            double range = symmetric ? Math.max(Math.abs((double) low[g]), Math.abs((double) high[g]))
                    : (double) high[g] - low[g];
            float scale = roundedUpScale(range / qMax);
            out.putFloat(scale);
            inverse[g] = 1.0 / scale;
            zero[g] = symmetric ? 0 : low[g];
        }
        if (!symmetric) {
            out.asFloatBuffer().put(low);
        }
        int codeStart = 4 * groups * (symmetric ? 1 : 2);
        byte[] bytes = out.array();
        int blocks = random == null ? threadBlocks(rows, lastDim) : streamBlocks(rows, lastDim);
        SplittableRandom[] streams = random == null ? null : streams(blocks);
        forBlocks(rows, blocks, parallel, (b, fromRow, toRow) -> {
            byte[] rowCodes = bits == 8 ? bytes : new byte[lastDim];
            for (int r = fromRow; r < toRow; r++) {
                int from = r * lastDim;
                quantiseRow(x, from, lastDim, granularity == ScaleGranularity.PER_TOKEN ? r : -1, zero, inverse,
                        streams == null ? null : streams[b], rowCodes, bits == 8 ? codeStart + from : 0);
                if (bits == 4) {
                    packNibbles(rowCodes, lastDim, bytes, codeStart, from);
                }
            }
        });
        return bytes;
    }

    /**
     * Minimum and maximum of each group; NaN or an infinity shows up in them (see {@link CodecKernels}). Per channel,
     * each row block keeps its own extremes, merged at the end.
     */
    private void rangePerGroup(float[] x, int rows, int lastDim, int blocks, float[] low, float[] high) {
        if (granularity == ScaleGranularity.PER_TOKEN) {
            forBlocks(rows, blocks, true, (b, fromRow, toRow) -> {
                for (int r = fromRow; r < toRow; r++) {
                    CodecKernels.ofRow(x, r * lastDim, lastDim, low, high, r);
                }
            });
            return;
        }
        float[][] lows = new float[blocks][];
        float[][] highs = new float[blocks][];
        forBlocks(rows, blocks, true, (b, fromRow, toRow) -> {
            float[] lo = b == 0 ? low : new float[lastDim];
            float[] hi = b == 0 ? high : new float[lastDim];
            Arrays.fill(lo, Float.POSITIVE_INFINITY);
            Arrays.fill(hi, Float.NEGATIVE_INFINITY);
            CodecKernels.foldColumns(x, fromRow, toRow, lastDim, lo, hi);
            lows[b] = lo;
            highs[b] = hi;
        });
        for (int b = 1; b < blocks; b++) {
            for (int j = 0; j < lastDim; j++) {
                low[j] = Math.min(low[j], lows[b][j]);
                high[j] = Math.max(high[j], highs[b][j]);
            }
        }
    }

    private static IllegalArgumentException nonFinite(float[] x) {
        int i = 0;
        while (Float.isFinite(x[i])) {
            i++;
        }
        return new IllegalArgumentException("cannot quantise non-finite value " + x[i] + " at " + i);
    }

    /**
     * Codes of row elements x[from, from + length) into codes[at, at + length): group {@code tokenGroup} for the
     * whole row, or (-1) group j for column j. One multiply by the group's inverse scale per element, no division.
     */
    private void quantiseRow(float[] x, int from, int length, int tokenGroup, double[] zero, double[] inverse,
                             SplittableRandom rng, byte[] codes, int at) {
        // g = base + (j & mask): the row's group, or the column's, without a branch in the loop.
        int base = Math.max(tokenGroup, 0);
        int mask = tokenGroup < 0 ? -1 : 0;
        if (rng == null) {
            for (int j = 0; j < length; j++) {
                int g = base + (j & mask);
                codes[at + j] = clamp(Math.rint((x[from + j] - zero[g]) * inverse[g]));
            }
            return;
        }
        // Two 24-bit uniforms in [0, 1) per draw: unbiased to 2^-24 of a step, half the draws of nextDouble.
        for (int j = 0; j < length; j += 2) {
            long uniforms = rng.nextLong();
            int g = base + (j & mask);
            codes[at + j] = clamp(Math.floor((x[from + j] - zero[g]) * inverse[g] + (uniforms >>> 40) * 0x1.0p-24));
            if (j + 1 < length) {
                int h = base + ((j + 1) & mask);
                codes[at + j + 1] = clamp(Math.floor((x[from + j + 1] - zero[h]) * inverse[h]
                        + ((uniforms >>> 8) & 0xFFFFFF) * 0x1.0p-24));
            }
        }
    }

    private byte clamp(double level) {
        return (byte) Math.max(qMin, Math.min(qMax, (int) level));
    }

    /** Codes of elements from, from + 1, ... as nibbles: element 2j low, 2j + 1 high. */
    private static void packNibbles(byte[] codes, int length, byte[] out, int codeStart, int from) {
        int j = 0;
        int at = codeStart + (from >> 1);
        if ((from & 1) == 1 && length > 0) {
            out[at++] |= (byte) ((codes[0] & 0xF) << 4);
            j = 1;
        }
        for (; j + 1 < length; j += 2) {
            out[at++] = (byte) ((codes[j] & 0xF) | (codes[j + 1] << 4));
        }
        if (j < length) {
            out[at] = (byte) (codes[j] & 0xF);
        }
    }

    /** The next tensor's stream, split into one stream per block, in block order. */
    private SplittableRandom[] streams(int blocks) {
        SplittableRandom tensor;
        synchronized (this) {
            tensor = random.split();
        }
        SplittableRandom[] streams = new SplittableRandom[blocks];
        for (int b = 0; b < blocks; b++) {
            streams[b] = tensor.split();
        }
        return streams;
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
        double[] scale = new double[groups];
        double[] zero = new double[groups];
        for (int g = 0; g < groups; g++) {
            scale[g] = in.getFloat();
            if (!(Double.isFinite(scale[g]) && scale[g] > 0)) {
                throw new WireRejectionException(RejectReason.NON_FINITE, "scale " + scale[g] + " of group " + g);
            }
        }
        for (int g = 0; g < groups && !symmetric; g++) {
            zero[g] = in.getFloat();
            if (!Double.isFinite(zero[g])) {
                throw new WireRejectionException(RejectReason.NON_FINITE, "zero point " + zero[g] + " of group " + g);
            }
        }
        int codeStart = in.position();
        float[] x = new float[Math.toIntExact(HostTensor.numel(shape))];
        int rows = x.length == 0 ? 0 : x.length / lastDim;
        int blocks = threadBlocks(rows, lastDim);
        int[] lowest = new int[blocks];
        forBlocks(rows, blocks, true, (b, fromRow, toRow) -> {
            for (int r = fromRow; r < toRow; r++) {
                lowest[b] = Math.min(lowest[b], dequantiseRow(payload, codeStart, r * lastDim, lastDim,
                        granularity == ScaleGranularity.PER_TOKEN ? r : -1, scale, zero, x));
            }
        });
        int lowestCode = Arrays.stream(lowest).min().orElse(0);
        if (lowestCode < qMin) {
            throw new WireRejectionException(RejectReason.SIZE_MISMATCH, "code " + lowestCode + " below " + qMin);
        }
        return new HostTensor(shape.clone(), x);
    }

    /**
     * x[from, from + length) from their codes (groups as in {@link #quantiseRow}); returns the lowest code seen, so
     * the caller refuses the symmetric code −2^(b−1) once instead of branching per element.
     */
    private int dequantiseRow(byte[] payload, int codeStart, int from, int length, int tokenGroup, double[] scale,
                              double[] zero, float[] x) {
        int base = Math.max(tokenGroup, 0);
        int mask = tokenGroup < 0 ? -1 : 0;
        int unused = 32 - bits;
        int lowest = 0;
        for (int j = 0; j < length; j++) {
            int i = from + j;
            int raw = bits == 8 ? payload[codeStart + i] : payload[codeStart + (i >> 1)] >> ((i & 1) << 2);
            // Symmetric codes are two's complement: sign-extend the low b bits; asymmetric ones are unsigned.
            int q = symmetric ? (raw << unused) >> unused : raw & qMax;
            lowest = Math.min(lowest, q);
            int g = base + (j & mask);
            // Inputs were finite; the rounded-up scale may overshoot the largest float by a hair.
            x[i] = (float) Math.max(-Float.MAX_VALUE, Math.min(Float.MAX_VALUE, q * scale[g] + zero[g]));
        }
        return lowest;
    }
}
