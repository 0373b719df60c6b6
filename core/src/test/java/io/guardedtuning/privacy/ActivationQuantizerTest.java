package io.guardedtuning.privacy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import io.guardedtuning.engine.DjlRuntime;
import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.Random;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ActivationQuantizerTest {

    @Test
    void quantisesEachRowToAtMostTwoToTheBLevelsWithinHalfAStep() {
        Random r = new Random(1);
        int rows = 5;
        int d = 40;
        float[] h = new float[rows * d];
        for (int i = 0; i < h.length; i++) {
            h[i] = (float) r.nextGaussian() * (1 + i / d);
        }
        java.util.Arrays.fill(h, 0, d, 0.25f);
        ActivationQuantizer q = new ActivationQuantizer(2);
        float[] got = DjlRuntime.withoutGradients(() -> {
            try (NDManager m = DjlRuntime.newManager()) {
                return q.quantize(m.create(h, new Shape(1, rows, d))).toFloatArray();
            }
        });
        for (int row = 0; row < rows; row++) {
            float lo = Float.MAX_VALUE;
            float hi = -Float.MAX_VALUE;
            for (int i = 0; i < d; i++) {
                lo = Math.min(lo, h[row * d + i]);
                hi = Math.max(hi, h[row * d + i]);
            }
            float step = hi == lo ? 1 : (hi - lo) / 3;
            Set<Float> levels = new HashSet<>();
            for (int i = 0; i < d; i++) {
                levels.add(got[row * d + i]);
                assertTrue(Math.abs(got[row * d + i] - h[row * d + i]) <= step / 2 + 1e-5, "row " + row);
            }
            assertTrue(levels.size() <= 4, "row " + row + " has " + levels.size() + " levels");
        }
        assertEquals(0.25f, got[0], 0f, "a constant row is reproduced exactly");
    }

    @Test
    void straightThroughForwardsTheQuantisedValueAndBackpropagatesIdentity() {
        float[] h = {0.05f, -0.7f, 0.33f, 0.9f};
        float[] w = {1f, 2f, 3f, 4f};
        ActivationQuantizer q = new ActivationQuantizer(1);
        try (NDManager m = DjlRuntime.newManager()) {
            NDArray hs = m.create(h, new Shape(1, 4));
            hs.setRequiresGradient(true);
            NDArray weights = m.create(w, new Shape(1, 4));
            try (GradientCollector gc = DjlRuntime.gradientCollector()) {
                NDArray out = q.straightThrough(hs);
                assertArrayEquals(new float[] {-0.7f, -0.7f, 0.9f, 0.9f}, out.toFloatArray(), 1e-6f);
                gc.backward(out.mul(weights).sum());
            }
            assertArrayEquals(w, hs.getGradient().toFloatArray(), 0f);
        }
    }
}
