package io.guardedtuning.attack;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.guardedtuning.engine.DjlRuntime;
import io.guardedtuning.tensor.HostTensor;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AffineAlignmentTest {

    private static final int D = 6;

    @Test
    void leastSquaresRecoversAnExactAffineMap() {
        try (NDManager scope = DjlRuntime.newManager()) {
            NDArray x = gaussian(scope, 200, D, 1);
            NDArray map = gaussian(scope, D + 1, D, 2);
            NDArray y = AffineAlignment.apply(map, x);
            NDArray fitted = AffineAlignment.fit(x, y, 0);
            assertTrue(fitted.sub(map).abs().max().getFloat() < 1e-3, "fitted " + fitted + " vs " + map);
            NDArray shrunk = AffineAlignment.fit(x, y, 10);
            assertTrue(shrunk.get(":" + D).abs().sum().getFloat() < map.get(":" + D).abs().sum().getFloat(),
                    "a ridge shrinks the linear part");
        }
    }

    @Test
    void momentMatchingGivesTheTargetsMeanAndCovariance() {
        try (NDManager scope = DjlRuntime.newManager()) {
            NDArray from = gaussian(scope, 4000, D, 3).mul(scope.create(new float[] {1, 2, 3, 0.5f, 0.1f, 4}));
            NDArray to = gaussian(scope, 3000, D, 4).matMul(gaussian(scope, D, D, 5)).add(7);
            NDArray mapped = AffineAlignment.apply(AffineAlignment.coral(from, to), from);
            assertTrue(mapped.mean(new int[] {0}).sub(to.mean(new int[] {0})).abs().max().getFloat() < 1e-3);
            NDArray covMapped = covariance(mapped);
            NDArray covTo = covariance(to);
            float scale = covTo.abs().max().getFloat();
            assertTrue(covMapped.sub(covTo).abs().max().getFloat() < 1e-3 * scale,
                    "covariance " + covMapped + " vs " + covTo);
        }
    }

    @Test
    void theHeldOutFitMapsOnlyTheRowsAfterTheFitAndScoresThem() {
        try (NDManager scope = DjlRuntime.newManager()) {
            int b = 4;
            int t = 30;
            NDArray x = gaussian(scope, b * t, D, 6);
            NDArray map = gaussian(scope, D + 1, D, 7);
            NDArray y = AffineAlignment.apply(map, x);
            long[] lengths = {30, 25, 30, 12};
            AffineAlignment.HeldOut held = AffineAlignment.HeldOut.fit(host(x, b, t), host(y, b, t), lengths, 2, 0);
            assertEquals(1, held.r2(), 1e-4);
            assertEquals(2, held.lengths().length);
            assertEquals(12, held.lengths()[1]);
            float[] expected = y.reshape(b, t, D).get("2:").toFloatArray();
            float[] got = held.mapped().data();
            for (int row = 0; row < 2; row++) {
                for (int pos = 0; pos < t; pos++) {
                    for (int j = 0; j < D; j++) {
                        int at = (row * t + pos) * D + j;
                        float want = pos < held.lengths()[row] ? expected[at] : 0f;
                        assertEquals(want, got[at], 1e-3, "row " + row + " position " + pos);
                    }
                }
            }
        }
    }

    private static HostTensor host(NDArray a, int b, int t) {
        return new HostTensor(new long[] {b, t, D}, a.toFloatArray());
    }

    private static NDArray covariance(NDArray x) {
        NDArray c = x.sub(x.mean(new int[] {0}, true));
        return c.transpose().matMul(c).div(x.getShape().get(0) - 1);
    }

    private static NDArray gaussian(NDManager scope, int rows, int cols, long seed) {
        Random random = new Random(seed);
        float[] data = new float[rows * cols];
        for (int i = 0; i < data.length; i++) {
            data[i] = (float) random.nextGaussian();
        }
        return scope.create(data, new Shape(rows, cols));
    }
}
