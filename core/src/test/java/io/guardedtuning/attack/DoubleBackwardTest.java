package io.guardedtuning.attack;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;
import io.guardedtuning.engine.DjlRuntime;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

class DoubleBackwardTest {

    @Test
    void probe() {
        try (NDManager m = DjlRuntime.newManager()) {
            NDArray x = m.create(new float[] {1f, 2f, -3f});
            x.setRequiresGradient(true);
            NDArray w = m.create(new float[] {0.5f, -1f, 2f});
            w.setRequiresGradient(true);
            try (GradientCollector gc = DjlRuntime.engine().newGradientCollector()) {
                NDArray y = x.mul(x).mul(x).mul(w).sum();
                JniUtils.backward((PtNDArray) y, (PtNDArray) m.ones(y.getShape()), true, true);
                NDArray gx = x.getGradient();
                System.out.println("gx=" + java.util.Arrays.toString(gx.toFloatArray()) + " hasGrad=" + gx.hasGradient());
                JniUtils.zeroGrad((PtNDArray) w);
                NDArray d = gx.mul(gx).sum();
                JniUtils.backward((PtNDArray) d, (PtNDArray) m.ones(d.getShape()), false, false);
                NDArray gw = w.getGradient();
                System.out.println("gw=" + java.util.Arrays.toString(gw.toFloatArray()));
                // d = sum (3 x^2 w)^2 -> dd/dw = 2 * 9 x^4 w
                float[] want = new float[3];
                float[] xs = {1, 2, -3};
                float[] ws = {0.5f, -1, 2};
                for (int i = 0; i < 3; i++) want[i] = 18 * xs[i] * xs[i] * xs[i] * xs[i] * ws[i];
                System.out.println("want=" + java.util.Arrays.toString(want));
                assertArrayEquals(want, gw.toFloatArray(), 1e-3f);
            }
        }
    }
}
