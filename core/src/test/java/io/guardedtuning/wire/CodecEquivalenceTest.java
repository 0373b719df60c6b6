package io.guardedtuning.wire;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.guardedtuning.tensor.HostTensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The fast codecs against the first, scalar implementation kept in {@link ReferenceCodecs}: same payload bytes
 * for the same tensor, and each decodes the other's payload to the same floats, bit for bit. Stochastic rounding
 * is the exception for bytes: the fast codec draws its noise from one stream per block of rows (so blocks code in
 * parallel), the reference from one stream per tensor, so their codes differ while each reads the other's. Shapes include empty, scalar, odd last dimensions (int4 nibbles crossing rows) and extreme
 * ranges. LZ4 payloads are the same bytes too; zstd ones differ (the fast path writes one frame per MiB, each with
 * its content size, Kafka's stream one frame without it) but each path reads the other's.
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
                if (spec.compression() != PayloadCompression.ZSTD && !spec.stochasticRounding()) {
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

    /**
     * Payloads over one zstd frame and many LZ4 blocks, some of which compress (a zero region) and some of which
     * are stored (noise): the frames and blocks written in parallel read back through Kafka's streams and the
     * other way round, and the LZ4 frame is the one Kafka's stream writes, byte for byte.
     */
    @Test
    void largePayloadsSpanSeveralFramesAndBlocksAndReadBothWays() {
        long[] shape = {320, 4096};
        float[] data = new float[(int) HostTensor.numel(shape)];
        Random rnd = new Random(23);
        for (int i = data.length / 3; i < data.length; i++) {
            data[i] = (float) rnd.nextGaussian();
        }
        HostTensor t = new HostTensor(shape, data);
        for (CodecSpec spec : List.of(CodecSpec.activations(8).withCompression(PayloadCompression.ZSTD),
                CodecSpec.activations(4).withCompression(PayloadCompression.LZ4),
                CodecSpec.gradients(8).withStochasticRounding(5).withCompression(PayloadCompression.ZSTD))) {
            TensorCodec fast = spec.newCodec();
            TensorCodec reference = ReferenceCodecs.of(spec);
            byte[] fastBytes = fast.encode(t);
            byte[] referenceBytes = reference.encode(t);
            String what = spec.format() + " " + spec.headerParams();
            int rawLength = spec.withCompression(PayloadCompression.NONE).newCodec().encode(t).length;
            assertTrue(fastBytes.length < 0.9 * rawLength, what + " compresses the zero region: " + fastBytes.length
                    + " of " + rawLength);
            assertBitEqual(reference.decode(shape, referenceBytes), fast.decode(shape, referenceBytes), what);
            assertBitEqual(reference.decode(shape, fastBytes), fast.decode(shape, fastBytes), what);
            if (spec.compression() == PayloadCompression.LZ4) {
                assertArrayEquals(referenceBytes, fastBytes, "the LZ4 frame Kafka's stream writes");
            }
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
