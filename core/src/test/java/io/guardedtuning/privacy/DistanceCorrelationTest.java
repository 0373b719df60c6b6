package io.guardedtuning.privacy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import io.guardedtuning.engine.DjlRuntime;
import io.guardedtuning.train.AdamW;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DistanceCorrelationTest {

    private static float[] gaussian(Random r, int n) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = (float) r.nextGaussian();
        }
        return out;
    }

    private static float value(NDArray a) {
        return a.getFloat();
    }

    @Test
    void independentDataGivesSmallValuesAndLinearMapsGiveLargeOnes() {
        DistanceCorrelation dcor = DistanceCorrelation.perToken();
        Random r = new Random(1);
        DjlRuntime.withoutGradients(() -> {
            try (NDManager m = DjlRuntime.newManager()) {
                // [B=8, T=40, d] with the last 10 positions of every sequence padded: 256 real rows.
                NDArray x = m.create(gaussian(r, 8 * 40 * 6), new Shape(8, 40, 6));
                NDArray z = m.create(gaussian(r, 8 * 40 * 6), new Shape(8, 40, 6));
                float[] mask = new float[8 * 40];
                for (int i = 0; i < mask.length; i++) {
                    mask[i] = i % 40 < 32 ? 1 : 0;
                }
                NDArray attention = m.create(mask, new Shape(8, 40));
                float independent = value(dcor.squared(x, z, attention));
                NDArray a = m.create(gaussian(r, 6 * 10), new Shape(6, 10));
                float linear = value(dcor.squared(x, x.matMul(a), attention));
                float similarity = value(dcor.squared(x, x.mul(3f).add(1f), attention));
                System.out.printf("dCor² independent %.4f, linear %.4f, similarity %.6f%n", independent, linear,
                        similarity);
                // The V-statistic is biased upward at finite n (about 0.08 here), still far below a linear relation.
                assertTrue(independent < 0.12, "independent: " + independent);
                assertTrue(linear > 0.8, "linear: " + linear);
                assertEquals(1f, similarity, 1e-4f);
                return null;
            }
        });
    }

    @Test
    void matchesADoublePrecisionReference() {
        Random r = new Random(2);
        int n = 9;
        float[] x = gaussian(r, n * 3);
        float[] z = gaussian(r, n * 4);
        for (int i = 0; i < 4; i++) {
            z[i] += 2 * x[i % 3];
        }
        double want = reference(x, 3, z, 4, n);
        float got = DjlRuntime.withoutGradients(() -> {
            try (NDManager m = DjlRuntime.newManager()) {
                return value(DistanceCorrelation.perToken().squaredOfRows(m.create(x, new Shape(n, 3)),
                        m.create(z, new Shape(n, 4))));
            }
        });
        assertEquals(want, got, 1e-4);
    }

    /** The textbook formula with exact distances. */
    private static double reference(float[] x, int dx, float[] z, int dz, int n) {
        double[][] a = centred(x, dx, n);
        double[][] b = centred(z, dz, n);
        double ab = 0;
        double aa = 0;
        double bb = 0;
        for (int j = 0; j < n; j++) {
            for (int k = 0; k < n; k++) {
                ab += a[j][k] * b[j][k];
                aa += a[j][k] * a[j][k];
                bb += b[j][k] * b[j][k];
            }
        }
        return ab / Math.sqrt(aa * bb);
    }

    private static double[][] centred(float[] rows, int d, int n) {
        double[][] dist = new double[n][n];
        for (int j = 0; j < n; j++) {
            for (int k = 0; k < n; k++) {
                double s = 0;
                for (int i = 0; i < d; i++) {
                    double diff = rows[j * d + i] - rows[k * d + i];
                    s += diff * diff;
                }
                dist[j][k] = Math.sqrt(s);
            }
        }
        double[] rowMean = new double[n];
        double[] colMean = new double[n];
        double all = 0;
        for (int j = 0; j < n; j++) {
            for (int k = 0; k < n; k++) {
                rowMean[j] += dist[j][k] / n;
                colMean[k] += dist[j][k] / n;
                all += dist[j][k] / ((double) n * n);
            }
        }
        double[][] out = new double[n][n];
        for (int j = 0; j < n; j++) {
            for (int k = 0; k < n; k++) {
                out[j][k] = dist[j][k] - rowMean[j] - colMean[k] + all;
            }
        }
        return out;
    }

    @Test
    void gradientIsFiniteWithDuplicateRows() {
        Random r = new Random(3);
        float[] x = gaussian(r, 6 * 4);
        System.arraycopy(x, 0, x, 4, 4);
        float[] z = x.clone();
        try (NDManager m = DjlRuntime.newManager()) {
            NDArray zs = m.create(z, new Shape(6, 4));
            zs.setRequiresGradient(true);
            try (GradientCollector gc = DjlRuntime.gradientCollector()) {
                gc.backward(DistanceCorrelation.perToken().squaredOfRows(m.create(x, new Shape(6, 4)), zs));
            }
            for (float g : zs.getGradient().toFloatArray()) {
                assertTrue(Float.isFinite(g), "gradient " + g);
            }
        }
    }

    @Test
    void minimisingThroughALinearMapLowersIt() {
        Random r = new Random(4);
        DistanceCorrelation dcor = DistanceCorrelation.perToken();
        try (NDManager m = DjlRuntime.newManager(); AdamW adam = new AdamW(new AdamW.Settings(0.9f, 0.999f, 1e-8f,
                0f, 0f))) {
            NDArray x = m.create(gaussian(r, 64 * 6), new Shape(64, 6));
            NDArray w = m.create(gaussian(r, 6 * 6), new Shape(6, 6));
            w.setRequiresGradient(true);
            float first = 0;
            float last = 0;
            for (int step = 0; step < 40; step++) {
                try (NDManager s = m.newSubManager()) {
                    NDArray xs = x.duplicate();
                    xs.attach(s);
                    try (GradientCollector gc = DjlRuntime.gradientCollector()) {
                        NDArray v = dcor.squaredOfRows(xs, xs.matMul(w));
                        gc.backward(v);
                        last = v.getFloat();
                    }
                }
                if (step == 0) {
                    first = last;
                }
                adam.update(Map.of("w", w), 0.05f);
            }
            System.out.printf("dCor² through a linear map: %.4f -> %.4f after 40 steps%n", first, last);
            assertTrue(last < 0.6 * first, first + " -> " + last);
        }
    }

    @Test
    void aSingleTokenGivesZeroInsteadOfFailing() {
        float v = DjlRuntime.withoutGradients(() -> {
            try (NDManager m = DjlRuntime.newManager()) {
                NDArray x = m.ones(new Shape(1, 3, 4));
                NDArray mask = m.create(new float[] {1, 0, 0}, new Shape(1, 3));
                return value(DistanceCorrelation.perToken().squared(x, x, mask));
            }
        });
        assertEquals(0f, v, 0f);
    }

    @Test
    void perSequenceModeUsesOneRowPerSequence() {
        Random r = new Random(5);
        DistanceCorrelation perSequence = new DistanceCorrelation(DistanceCorrelation.Rows.PER_SEQUENCE_MEAN, 512,
                DistanceCorrelation.DEFAULT_EPS);
        float v = DjlRuntime.withoutGradients(() -> {
            try (NDManager m = DjlRuntime.newManager()) {
                NDArray x = m.create(gaussian(r, 16 * 5 * 3), new Shape(16, 5, 3));
                NDArray mask = m.ones(new Shape(16, 5));
                return value(perSequence.squared(x, x.mul(2f), mask));
            }
        });
        assertEquals(1f, v, 1e-4f);
    }
}
