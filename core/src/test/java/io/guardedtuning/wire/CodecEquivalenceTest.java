package io.guardedtuning.wire;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.guardedtuning.tensor.HostTensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The fast codecs against the first, scalar implementation kept in {@link ReferenceCodecs}: same payload bytes
 * for the same tensor (also with seeded stochastic rounding), and each decodes the other's payload to the same
 * floats, bit for bit. Shapes include empty, scalar, odd last dimensions (int4 nibbles crossing rows) and extreme
 * ranges. Compressed payloads may differ in bytes (one zstd call writes the frame's content size, Kafka's stream
 * does not) but each path reads the other's.
 */
class CodecEquivalenceTest {

    private static List<CodecSpec> specs() {
        List<CodecSpec> specs = new ArrayList<>();
        for (CodecFormat f : List.of(CodecFormat.FP32, CodecFormat.FP16, CodecFormat.BF16)) {
            specs.add(CodecSpec.of(f));
            specs.add(CodecSpec.of(f).withTopK(5));
        }
        for (int bits : new int[] {8, 4}) {
            for (boolean symmetric : new boolean[] {false, true}) {
                for (ScaleGranularity g : ScaleGranularity.values()) {
                    CodecSpec spec = CodecSpec.activations(bits).withSymmetric(symmetric).withGranularity(g);
                    specs.add(spec);
                    specs.add(spec.withStochasticRounding(11));
                    specs.add(spec.withTopK(7));
                }
            }
        }
        specs.add(CodecSpec.activations(8).withCompression(PayloadCompression.ZSTD));
        specs.add(CodecSpec.activations(4).withCompression(PayloadCompression.LZ4));
        return specs;
    }

    private static List<HostTensor> tensors() {
        List<HostTensor> tensors = new ArrayList<>(CodecRoundTripTest.cases(21));
        Random rnd = new Random(22);
        for (long[] shape : new long[][] {{3, 37, 96}, {5, 33}, {2, 2048}}) {
            float[] data = new float[(int) HostTensor.numel(shape)];
            for (int i = 0; i < data.length; i++) {
                data[i] = (float) rnd.nextGaussian() * (i % 97 == 3 ? 20 : 1);
            }
            tensors.add(new HostTensor(shape, data));
        }
        return tensors;
    }

    @Test
    void fastAndReferenceCodecsWriteTheSameBytesAndDecodeEachOther() {
        for (CodecSpec spec : specs()) {
            TensorCodec fast = spec.newCodec();
            TensorCodec reference = ReferenceCodecs.of(spec);
            for (HostTensor t : tensors()) {
                String what = spec.format() + " " + spec.headerParams() + " " + t;
                byte[] fastBytes = fast.encode(t);
                byte[] referenceBytes = reference.encode(t);
                if (spec.compression() == PayloadCompression.NONE) {
                    assertArrayEquals(referenceBytes, fastBytes, what);
                }
                assertBitEqual(reference.decode(t.shape(), referenceBytes), fast.decode(t.shape(), referenceBytes), what);
                assertBitEqual(reference.decode(t.shape(), fastBytes), fast.decode(t.shape(), fastBytes), what);
            }
        }
    }

    private static void assertBitEqual(HostTensor expected, HostTensor actual, String what) {
        assertArrayEquals(expected.shape(), actual.shape(), what);
        for (int i = 0; i < expected.data().length; i++) {
            assertEquals(Float.floatToRawIntBits(expected.data()[i]), Float.floatToRawIntBits(actual.data()[i]),
                    what + " element " + i);
        }
    }

    @Test
    void bothRefuseTheSymmetricCodeBelowTheRange() {
        for (int bits : new int[] {8, 4}) {
            CodecSpec spec = CodecSpec.gradients(bits);
            HostTensor t = new HostTensor(new long[] {2, 3}, new float[] {1, -2, 3, 0.5f, 0, -1});
            byte[] payload = spec.newCodec().encode(t);
            payload[payload.length - 1] = (byte) (bits == 8 ? 0x80 : 0x08); // −2^(b−1): never written
            for (TensorCodec codec : List.of(spec.newCodec(), ReferenceCodecs.of(spec))) {
                WireRejectionException e = assertThrows(WireRejectionException.class, () -> codec.decode(t.shape(), payload));
                assertEquals(RejectReason.SIZE_MISMATCH, e.reason());
            }
        }
    }

    @Test
    void quantisingANonFiniteValueNamesItsPosition() {
        HostTensor t = new HostTensor(new long[] {2, 2}, new float[] {1, 2, Float.NaN, 4});
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> CodecSpec.activations(8).newCodec().encode(t));
        assertEquals("cannot quantise non-finite value NaN at 2", e.getMessage());
    }
}
