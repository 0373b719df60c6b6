package io.guardedtuning.wire;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.guardedtuning.tensor.FloatFormats;
import io.guardedtuning.tensor.HostTensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ForkJoinPool;
import org.junit.jupiter.api.Test;

class CodecRoundTripTest {

    private static final long[][] EDGE_SHAPES = {{0}, {3, 0}, {1}, {1, 1}, {}, {7}, {2, 3, 5}, {4, 1}, {1, 9}};

    private static HostTensor roundTrip(CodecSpec spec, HostTensor t) {
        TensorCodec codec = spec.newCodec();
        byte[] payload = codec.encode(t);
        if (spec.compression() == PayloadCompression.NONE) {
            assertEquals(codec.encodedSize(t.shape()), payload.length, "encodedSize for " + spec);
        }
        return codec.decode(t.shape(), payload);
    }

    private static HostTensor random(Random rnd, long[] shape, int mode) {
        float[] data = new float[(int) HostTensor.numel(shape)];
        for (int i = 0; i < data.length; i++) {
            data[i] = switch (mode) {
                case 0 -> (float) rnd.nextGaussian();
                case 1 -> (float) (rnd.nextGaussian() * Math.pow(10, rnd.nextInt(60) - 30));
                case 2 -> 3.25f; // constant rows
                case 3 -> rnd.nextBoolean() ? Float.MAX_VALUE : -Float.MAX_VALUE;
                case 4 -> rnd.nextInt(5) * Float.MIN_VALUE; // tiny subnormals
                default -> rnd.nextBoolean() ? (float) rnd.nextGaussian() : Float.MAX_VALUE / (1 + rnd.nextInt(3));
            };
        }
        return new HostTensor(shape, data);
    }

    static List<HostTensor> cases(long seed) {
        Random rnd = new Random(seed);
        List<HostTensor> tensors = new ArrayList<>();
        for (long[] shape : EDGE_SHAPES) {
            for (int mode = 0; mode < 6; mode++) {
                tensors.add(random(rnd, shape, mode));
            }
        }
        for (int i = 0; i < 120; i++) {
            long[] shape = new long[1 + rnd.nextInt(3)];
            for (int d = 0; d < shape.length; d++) {
                shape[d] = 1 + rnd.nextInt(17);
            }
            tensors.add(random(rnd, shape, i % 6));
        }
        return tensors;
    }

    @Test
    void fp32IsBitExactIncludingNonFinite() {
        float[] data = {0f, -0f, 1.5f, Float.MAX_VALUE, -Float.MIN_VALUE, Float.NaN, Float.NEGATIVE_INFINITY};
        HostTensor t = new HostTensor(new long[] {7}, data);
        HostTensor back = roundTrip(CodecSpec.of(CodecFormat.FP32), t);
        for (int i = 0; i < data.length; i++) {
            assertEquals(Float.floatToRawIntBits(data[i]), Float.floatToRawIntBits(back.data()[i]));
        }
        for (HostTensor c : cases(1)) {
            assertEquals(c, roundTrip(CodecSpec.of(CodecFormat.FP32).withCompression(PayloadCompression.ZSTD), c));
        }
    }

    @Test
    void fp16IsExactOnRepresentableValuesAndBf16MatchesFloatFormats() {
        for (HostTensor c : cases(2)) {
            float[] representable = c.data().clone();
            float[] bf16 = c.data().clone();
            for (int i = 0; i < representable.length; i++) {
                representable[i] = FloatFormats.fromFloat16(FloatFormats.toFloat16(representable[i]));
                bf16[i] = FloatFormats.fromBfloat16(FloatFormats.toBfloat16(bf16[i]));
            }
            HostTensor fp16Exact = new HostTensor(c.shape(), representable);
            assertEquals(fp16Exact, roundTrip(CodecSpec.of(CodecFormat.FP16), fp16Exact));
            assertArrayEquals(bf16, roundTrip(CodecSpec.of(CodecFormat.BF16), c).data());
        }
    }

    @Test
    void quantisationErrorIsAtMostHalfAStepPerGroup() {
        for (int bits : new int[] {8, 4}) {
            for (boolean symmetric : new boolean[] {false, true}) {
                for (ScaleGranularity g : ScaleGranularity.values()) {
                    for (PayloadCompression z : PayloadCompression.values()) {
                        CodecSpec spec = CodecSpec.activations(bits).withSymmetric(symmetric).withGranularity(g)
                                .withCompression(z);
                        for (HostTensor c : cases(bits * 31L + (symmetric ? 1 : 0))) {
                            assertWithinHalfStep(spec, c, roundTrip(spec, c), 0.5);
                        }
                    }
                }
            }
        }
    }

    /** |x − x̂| ≤ fraction·s per group, plus one ulp for the final fp32 rounding of x̂. */
    private static void assertWithinHalfStep(CodecSpec spec, HostTensor original, HostTensor decoded, double fraction) {
        long[] shape = original.shape();
        int lastDim = shape.length == 0 ? 1 : (int) shape[shape.length - 1];
        float[] x = original.data();
        float[] y = decoded.data();
        int bits = spec.format().quantisationBits();
        int qMax = spec.symmetric() ? (1 << (bits - 1)) - 1 : (1 << bits) - 1;
        int groups = x.length == 0 ? 0 : spec.granularity() == ScaleGranularity.PER_TOKEN ? x.length / lastDim : lastDim;
        double[] lo = new double[groups];
        double[] hi = new double[groups];
        double[] maxAbs = new double[groups];
        Arrays.fill(lo, Double.MAX_VALUE);
        Arrays.fill(hi, -Double.MAX_VALUE);
        for (int i = 0; i < x.length; i++) {
            int g = group(spec, i, lastDim);
            lo[g] = Math.min(lo[g], x[i]);
            hi[g] = Math.max(hi[g], x[i]);
            maxAbs[g] = Math.max(maxAbs[g], Math.abs(x[i]));
        }
        for (int i = 0; i < x.length; i++) {
            int g = group(spec, i, lastDim);
            double step = (spec.symmetric() ? maxAbs[g] : hi[g] - lo[g]) / qMax;
            double bound = fraction * step * (1 + 1e-6) + Math.ulp((float) maxAbs[g]);
            double err = Math.abs((double) x[i] - y[i]);
            assertTrue(err <= bound, spec.headerParams() + " " + original + " element " + i + ": " + x[i]
                    + " -> " + y[i] + ", error " + err + " > " + bound);
        }
    }

    private static int group(CodecSpec spec, int element, int lastDim) {
        return spec.granularity() == ScaleGranularity.PER_TOKEN ? element / lastDim : element % lastDim;
    }

    @Test
    void stochasticRoundingStaysWithinOneStepAndIsUnbiased() {
        Random rnd = new Random(3);
        HostTensor t = random(rnd, new long[] {4, 64}, 0);
        for (CodecSpec base : List.of(CodecSpec.activations(4), CodecSpec.gradients(4), CodecSpec.gradients(8))) {
            TensorCodec codec = base.withStochasticRounding(42).newCodec();
            int trials = 4000;
            double[] mean = new double[t.data().length];
            for (int trial = 0; trial < trials; trial++) {
                HostTensor decoded = codec.decode(t.shape(), codec.encode(t));
                assertWithinHalfStep(base, t, decoded, 1.0);
                for (int i = 0; i < mean.length; i++) {
                    mean[i] += decoded.data()[i] / trials;
                }
            }
            double nearestBias = 0;
            double stochasticBias = 0;
            HostTensor nearest = roundTrip(base, t);
            for (int i = 0; i < mean.length; i++) {
                nearestBias += Math.abs(nearest.data()[i] - t.data()[i]);
                stochasticBias += Math.abs(mean[i] - t.data()[i]);
            }
            // The mean of many stochastic roundings converges on x (error ~ step/sqrt(trials)); nearest does not.
            assertTrue(stochasticBias < nearestBias / 8, base.headerParams() + ": stochastic bias " + stochasticBias
                    + " vs nearest " + nearestBias);
        }
    }

    @Test
    void seededStochasticRoundingIsReproducible() {
        HostTensor t = random(new Random(4), new long[] {8, 16}, 0);
        CodecSpec spec = CodecSpec.gradients(4).withStochasticRounding(7);
        assertArrayEquals(spec.newCodec().encode(t), spec.newCodec().encode(t));
    }

    /** Blocks of rows code in parallel, each from its own stream: the codes must not depend on the thread count. */
    @Test
    void stochasticCodesDoNotDependOnTheNumberOfThreads() throws Exception {
        HostTensor t = random(new Random(5), new long[] {300, 4096}, 0);
        CodecSpec spec = CodecSpec.gradients(8).withStochasticRounding(9);
        byte[] serial = spec.newCodec().encode(t);
        for (int threads : new int[] {1, 3, 8}) {
            ForkJoinPool pool = new ForkJoinPool(threads);
            try {
                // A parallel stream started inside a pool's task runs on that pool's workers.
                assertArrayEquals(serial, pool.submit(() -> spec.newCodec().encode(t)).get(), threads + " threads");
            } finally {
                pool.shutdown();
            }
        }
    }

    @Test
    void topKKeepsTheKLargestMagnitudes() {
        Random rnd = new Random(5);
        for (int trial = 0; trial < 50; trial++) {
            HostTensor t = random(rnd, new long[] {1 + rnd.nextInt(8), 1 + rnd.nextInt(40)}, 0);
            int k = 1 + rnd.nextInt(t.data().length + 3);
            HostTensor back = roundTrip(CodecSpec.of(CodecFormat.FP32).withTopK(k), t);
            float[] sortedMagnitudes = new float[t.data().length];
            for (int i = 0; i < sortedMagnitudes.length; i++) {
                sortedMagnitudes[i] = Math.abs(t.data()[i]);
            }
            Arrays.sort(sortedMagnitudes);
            int kept = Math.min(k, sortedMagnitudes.length);
            float threshold = sortedMagnitudes[sortedMagnitudes.length - kept];
            int nonZero = 0;
            for (int i = 0; i < t.data().length; i++) {
                if (back.data()[i] != 0) {
                    nonZero++;
                    assertEquals(t.data()[i], back.data()[i]);
                    assertTrue(Math.abs(t.data()[i]) >= threshold);
                } else {
                    assertTrue(Math.abs(t.data()[i]) <= threshold);
                }
            }
            assertEquals(kept, nonZero);
        }
        HostTensor g = random(rnd, new long[] {16, 32}, 0);
        ReconstructionError err = CodecSpec.gradients(8).withTopK(64).withCompression(PayloadCompression.LZ4)
                .newCodec().roundTripError(g);
        assertTrue(err.maxAbs() > 0 && err.rms() <= err.maxAbs());
    }

    @Test
    void codecParametersRoundTripThroughHeaders() {
        List<CodecSpec> specs = List.of(CodecSpec.of(CodecFormat.FP16), CodecSpec.of(CodecFormat.RAW),
                CodecSpec.activations(8).withGranularity(ScaleGranularity.PER_CHANNEL).withCompression(PayloadCompression.ZSTD),
                CodecSpec.gradients(4).withTopK(100));
        for (CodecSpec spec : specs) {
            assertEquals(spec, CodecSpec.fromHeaders(spec.format().wireName(), spec.headerParams()));
        }
        CodecSpec stochastic = CodecSpec.gradients(8).withStochasticRounding(99);
        CodecSpec received = CodecSpec.fromHeaders("int8", stochastic.headerParams());
        assertTrue(received.stochasticRounding());
        assertEquals(0, received.seed(), "the seed stays with the sender");
    }

    @Test
    void reconstructionErrorReportsMaxAndRms() {
        HostTensor a = new HostTensor(new long[] {4}, new float[] {0, 0, 0, 0});
        HostTensor b = new HostTensor(new long[] {4}, new float[] {1, -1, 1, -1});
        assertEquals(new ReconstructionError(1, 1), ReconstructionError.between(a, b));
    }
}
