package io.guardedtuning.wire;

import io.guardedtuning.tensor.FloatFormats;
import io.guardedtuning.tensor.HostTensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.ShortBuffer;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * The first, scalar implementation of the codecs (a heap ByteBuffer view per element, a division per element, a
 * full sort for top-k, compression through Kafka's streams), kept verbatim as the reference the fast codecs are
 * checked against: both must write the same bytes and decode each other's payloads bit for bit.
 */
final class ReferenceCodecs {

    private ReferenceCodecs() {
    }

    /** The reference codec for a spec, built as {@link CodecSpec#newCodec()} builds the fast one. */
    static TensorCodec of(CodecSpec spec) {
        TensorCodec codec = switch (spec.format()) {
            case FP32, FP16, BF16 -> new FloatCodec(spec.format());
            case INT8, INT4 -> new UniformQuantCodec(spec.format().quantisationBits(), spec.granularity(),
                    spec.symmetric(), spec.stochasticRounding() ? new SplittableRandom(spec.seed()) : null);
            case RAW -> throw new IllegalStateException("raw payloads are not tensors");
        };
        if (spec.topK() > 0) {
            codec = new TopKCodec(spec.topK(), codec);
        }
        return spec.compression() == PayloadCompression.NONE ? codec : new StreamCompressed(codec, spec.compression());
    }

    /** The first binary16 to fp32 conversion: one branch per class (zero, subnormal, Inf/NaN, normal). */
    static float fromFloat16(short h) {
        int bits = h & 0xFFFF;
        int sign = (bits & 0x8000) << 16;
        int exp = (bits >>> 10) & 0x1F;
        int mant = bits & 0x03FF;
        if (exp == 0) {
            if (mant == 0) {
                return Float.intBitsToFloat(sign);
            }
            float v = mant * 0x1p-24f;
            return sign != 0 ? -v : v;
        }
        if (exp == 0x1F) {
            return Float.intBitsToFloat(sign | 0x7F800000 | (mant << 13));
        }
        return Float.intBitsToFloat(sign | ((exp - 15 + 127) << 23) | (mant << 13));
    }

    /** The first fp32 to binary16 conversion: round to nearest even by comparing the discarded bits with half. */
    static short toFloat16(float f) {
        int bits = Float.floatToRawIntBits(f);
        int sign = (bits >>> 16) & 0x8000;
        int exp = (bits >>> 23) & 0xFF;
        int mant = bits & 0x007FFFFF;
        if (exp == 0xFF) {
            return (short) (sign | 0x7C00 | (mant != 0 ? 0x0200 | (mant >>> 13) : 0));
        }
        int e = exp - 127 + 15;
        if (e >= 0x1F) {
            return (short) (sign | 0x7C00);
        }
        if (e <= 0) {
            if (e < -10) {
                return (short) sign;
            }
            int m = mant | 0x00800000;
            int shift = 14 - e;
            int half = m >>> shift;
            int rest = m & ((1 << shift) - 1);
            int mid = 1 << (shift - 1);
            if (rest > mid || (rest == mid && (half & 1) != 0)) {
                half++;
            }
            return (short) (sign | half);
        }
        int half = (e << 10) | (mant >>> 13);
        int rest = mant & 0x1FFF;
        if (rest > 0x1000 || (rest == 0x1000 && (half & 1) != 0)) {
            half++;
        }
        return (short) (sign | half);
    }

    /**
     * The first compression: every payload fed through kafka-clients' compression stream, as its producer does.
     * Only writing differs; reading is the current codec's.
     */
    static final class StreamCompressed implements TensorCodec {

        private final TensorCodec inner;
        private final PayloadCompression compression;
        private final CompressedCodec current;

        StreamCompressed(TensorCodec inner, PayloadCompression compression) {
            this.inner = inner;
            this.compression = compression;
            this.current = new CompressedCodec(inner, compression);
        }

        @Override
        public byte[] encode(HostTensor tensor) {
            byte[] raw = inner.encode(tensor);
            org.apache.kafka.common.utils.ByteBufferOutputStream buffer =
                    new org.apache.kafka.common.utils.ByteBufferOutputStream(raw.length / 2 + 64);
            buffer.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, raw.length).array(), 0, 4);
            org.apache.kafka.common.compress.Compression kafka = compression == PayloadCompression.ZSTD
                    ? org.apache.kafka.common.compress.Compression.zstd().build()
                    : org.apache.kafka.common.compress.Compression.lz4().build();
            try (java.io.OutputStream out = kafka.wrapForOutput(buffer,
                    org.apache.kafka.common.record.RecordBatch.CURRENT_MAGIC_VALUE)) {
                out.write(raw);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
            ByteBuffer written = buffer.buffer();
            return Arrays.copyOf(written.array(), written.position());
        }

        @Override
        public HostTensor decode(long[] shape, byte[] payload) {
            return current.decode(shape, payload);
        }

        @Override
        public long encodedSize(long[] shape) {
            return current.encodedSize(shape);
        }

        @Override
        public double bytesPerElement() {
            return current.bytesPerElement();
        }
    }

    /** fp32, fp16 or bf16 elements, little-endian, C order. fp32 is bit-exact; the 16-bit forms round to nearest even. */
    static final class FloatCodec implements TensorCodec {

        private final CodecFormat format;

        FloatCodec(CodecFormat format) {
            if (format != CodecFormat.FP32 && format != CodecFormat.FP16 && format != CodecFormat.BF16) {
                throw new IllegalArgumentException("not a float format: " + format);
            }
            this.format = format;
        }

        @Override
        public byte[] encode(HostTensor tensor) {
            float[] data = tensor.data();
            ByteBuffer out = ByteBuffer.allocate(Math.toIntExact(encodedSize(tensor.shape()))).order(ByteOrder.LITTLE_ENDIAN);
            if (format == CodecFormat.FP32) {
                out.asFloatBuffer().put(data);
            } else {
                ShortBuffer halves = out.asShortBuffer();
                for (float v : data) {
                    halves.put(format == CodecFormat.FP16 ? toFloat16(v) : FloatFormats.toBfloat16(v));
                }
            }
            return out.array();
        }

        @Override
        public HostTensor decode(long[] shape, byte[] payload) {
            TensorCodec.requireSize(encodedSize(shape), payload.length);
            ByteBuffer in = ByteBuffer.wrap(payload).order(ByteOrder.LITTLE_ENDIAN);
            float[] data = new float[Math.toIntExact(HostTensor.numel(shape))];
            if (format == CodecFormat.FP32) {
                in.asFloatBuffer().get(data);
            } else {
                ShortBuffer halves = in.asShortBuffer();
                for (int i = 0; i < data.length; i++) {
                    short h = halves.get();
                    data[i] = format == CodecFormat.FP16 ? fromFloat16(h) : FloatFormats.fromBfloat16(h);
                }
            }
            return new HostTensor(shape.clone(), data);
        }

        @Override
        public long encodedSize(long[] shape) {
            return HostTensor.numel(shape) * (long) format.bytesPerElement();
        }

        @Override
        public double bytesPerElement() {
            return format.bytesPerElement();
        }
    }

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
    static final class UniformQuantCodec implements TensorCodec {

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

    /**
     * Top-k sparsification (for gradients): keeps the k elements of largest magnitude over the whole tensor, the rest
     * decode as 0. Layout: min(k, numel) int32 little-endian flat indices in ascending order, then the values as a 1-D
     * tensor of that length in the inner codec's layout.
     */
    static final class TopKCodec implements TensorCodec {

        private final int k;
        private final TensorCodec values;

        TopKCodec(int k, TensorCodec values) {
            this.k = k;
            this.values = values;
        }

        private int kept(long[] shape) {
            return (int) Math.min(k, HostTensor.numel(shape));
        }

        @Override
        public byte[] encode(HostTensor tensor) {
            float[] data = tensor.data();
            int[] indices = largestMagnitudeIndices(data, kept(tensor.shape()));
            float[] kept = new float[indices.length];
            for (int i = 0; i < indices.length; i++) {
                kept[i] = data[indices[i]];
            }
            byte[] encodedValues = values.encode(new HostTensor(new long[] {kept.length}, kept));
            ByteBuffer out = ByteBuffer.allocate(4 * indices.length + encodedValues.length).order(ByteOrder.LITTLE_ENDIAN);
            out.asIntBuffer().put(indices);
            out.position(4 * indices.length);
            out.put(encodedValues);
            return out.array();
        }

        /** Indices of the n largest |x|, ascending; ties broken towards the lower index so the result is deterministic. */
        static int[] largestMagnitudeIndices(float[] data, int n) {
            if (n == 0) {
                return new int[0];
            }
            // Sort (|x| bits, index) pairs packed in a long: for non-negative floats the raw bits order like the values.
            long[] keyed = new long[data.length];
            for (int i = 0; i < data.length; i++) {
                long magnitude = Float.floatToIntBits(Math.abs(data[i])) & 0x7FFFFFFFL;
                keyed[i] = (magnitude << 32) | (0xFFFFFFFFL - i);
            }
            Arrays.sort(keyed);
            int[] indices = new int[n];
            for (int i = 0; i < n; i++) {
                indices[i] = (int) (0xFFFFFFFFL - (keyed[keyed.length - 1 - i] & 0xFFFFFFFFL));
            }
            Arrays.sort(indices);
            return indices;
        }

        @Override
        public HostTensor decode(long[] shape, byte[] payload) {
            TensorCodec.requireSize(encodedSize(shape), payload.length);
            int n = kept(shape);
            int numel = Math.toIntExact(HostTensor.numel(shape));
            ByteBuffer in = ByteBuffer.wrap(payload).order(ByteOrder.LITTLE_ENDIAN);
            int[] indices = new int[n];
            in.asIntBuffer().get(indices);
            float[] keptValues = values.decode(new long[] {n}, Arrays.copyOfRange(payload, 4 * n, payload.length)).data();
            float[] data = new float[numel];
            int previous = -1;
            for (int i = 0; i < n; i++) {
                if (indices[i] <= previous || indices[i] >= numel) {
                    throw new WireRejectionException(RejectReason.SIZE_MISMATCH,
                            "top-k index " + indices[i] + " out of order or outside " + numel + " elements");
                }
                previous = indices[i];
                data[indices[i]] = keptValues[i];
            }
            return new HostTensor(shape.clone(), data);
        }

        @Override
        public long encodedSize(long[] shape) {
            int n = kept(shape);
            return 4L * n + values.encodedSize(new long[] {n});
        }

        @Override
        public double bytesPerElement() {
            return 4 + values.bytesPerElement();
        }
    }
}
