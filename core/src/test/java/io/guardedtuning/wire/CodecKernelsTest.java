package io.guardedtuning.wire;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The Vector API kernels against the scalar loops: the same floats bit for bit (signed zeros, NaN and infinities
 * included), for widths around and between vector lengths. The suite's JVM has the module (root pom's argLine), so
 * the codecs under test run vectorised.
 */
class CodecKernelsTest {

    private static final float[] SPECIAL = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, -0f, 0f,
            Float.MAX_VALUE, -Float.MAX_VALUE, Float.MIN_VALUE};

    private static float[] rows(Random rnd, int rows, int width, boolean special) {
        float[] x = new float[rows * width];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        for (int k = 0; special && k < 3; k++) {
            x[rnd.nextInt(x.length)] = SPECIAL[rnd.nextInt(SPECIAL.length)];
        }
        return x;
    }

    @Test
    void theSuiteRunsTheVectorKernels() {
        assertTrue(CodecKernels.VECTORISED, "the test JVM lacks --add-modules jdk.incubator.vector (root pom argLine)");
    }

    @Test
    void vectorAndScalarExtremesAreTheSameFloats() {
        Random rnd = new Random(5);
        for (int width : new int[] {1, 3, 7, 8, 15, 16, 17, 31, 33, 64, 100, 2048, 2051}) {
            for (int trial = 0; trial < 20; trial++) {
                int rows = 1 + rnd.nextInt(6);
                float[] x = rows(rnd, rows, width, trial % 2 == 1);
                float[][] perRow = new float[4][rows];
                for (int r = 0; r < rows; r++) {
                    CodecKernels.scalarOfRow(x, r * width, width, perRow[0], perRow[1], r);
                    VectorKernels.ofRow(x, r * width, width, perRow[2], perRow[3], r);
                }
                assertBits(perRow[0], perRow[2], "row minima, width " + width);
                assertBits(perRow[1], perRow[3], "row maxima, width " + width);

                float[][] perColumn = new float[4][width];
                for (int k = 0; k < 4; k += 2) {
                    Arrays.fill(perColumn[k], Float.POSITIVE_INFINITY);
                    Arrays.fill(perColumn[k + 1], Float.NEGATIVE_INFINITY);
                }
                CodecKernels.scalarFoldColumns(x, 0, rows, width, perColumn[0], perColumn[1]);
                VectorKernels.foldColumns(x, 0, rows, width, perColumn[2], perColumn[3]);
                assertBits(perColumn[0], perColumn[2], "column minima, width " + width);
                assertBits(perColumn[1], perColumn[3], "column maxima, width " + width);
            }
        }
    }

    /** Bit for bit, except that any NaN equals any NaN (the wire refuses them either way). */
    private static void assertBits(float[] expected, float[] actual, String what) {
        int[] e = new int[expected.length];
        int[] a = new int[actual.length];
        for (int i = 0; i < e.length; i++) {
            e[i] = Float.isNaN(expected[i]) ? 0x7fc00000 : Float.floatToRawIntBits(expected[i]);
            a[i] = Float.isNaN(actual[i]) ? 0x7fc00000 : Float.floatToRawIntBits(actual[i]);
        }
        assertArrayEquals(e, a, what);
    }
}
