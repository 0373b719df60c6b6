package io.guardedtuning.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import io.guardedtuning.engine.DjlRuntime;
import io.guardedtuning.tensor.HostTensor;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * AdamW with decoupled weight decay and optional global-norm clipping, applied in place to named parameters.
 * Hand-written because the update must run outside the autograd graph and zero the accumulated gradients
 * (PyTorch semantics), and its state must be exportable for checkpoints.
 */
public final class AdamW implements AutoCloseable {

    public record Settings(float beta1, float beta2, float eps, float weightDecay, float maxGradNorm) {
        public static Settings defaults() {
            return new Settings(0.9f, 0.999f, 1e-8f, 0.0f, 1.0f);
        }
    }

    private final Settings settings;
    private final NDManager manager;
    private final Map<String, NDArray> firstMoment = new LinkedHashMap<>();
    private final Map<String, NDArray> secondMoment = new LinkedHashMap<>();
    private long step;

    public AdamW(Settings settings) {
        this.settings = settings;
        this.manager = DjlRuntime.newManager();
    }

    /**
     * Applies one update to each parameter from its accumulated gradient, then zeroes the gradients.
     * Returns the global gradient norm before clipping.
     */
    public double update(Map<String, NDArray> params, float learningRate) {
        step++;
        return DjlRuntime.withoutGradients(() -> {
            try (NDManager scope = manager.newSubManager()) {
                Map<String, NDArray> grads = new LinkedHashMap<>();
                double sq = 0;
                for (Map.Entry<String, NDArray> e : params.entrySet()) {
                    NDArray g = e.getValue().getGradient();
                    g.attach(scope);
                    grads.put(e.getKey(), g);
                    sq += g.square().sum().getFloat();
                }
                double norm = Math.sqrt(sq);
                double clip = settings.maxGradNorm() > 0 && norm > settings.maxGradNorm()
                        ? settings.maxGradNorm() / (norm + 1e-6) : 1.0;
                double bias1 = 1 - Math.pow(settings.beta1(), step);
                double bias2 = 1 - Math.pow(settings.beta2(), step);
                for (Map.Entry<String, NDArray> e : params.entrySet()) {
                    NDArray p = e.getValue();
                    NDArray g = grads.get(e.getKey()).mul((float) clip);
                    NDArray m = firstMoment.computeIfAbsent(e.getKey(), k -> manager.zeros(p.getShape()));
                    NDArray v = secondMoment.computeIfAbsent(e.getKey(), k -> manager.zeros(p.getShape()));
                    m.muli(settings.beta1()).addi(g.mul(1 - settings.beta1()));
                    v.muli(settings.beta2()).addi(g.square().muli(1 - settings.beta2()));
                    // Results of ops on m, v and p belong to their (long-lived) managers: move them to the
                    // step's scope, or every step would leak a few parameter-sized arrays.
                    NDArray denom = scoped(scope, v.div((float) bias2)).sqrt().addi(settings.eps());
                    NDArray delta = scoped(scope, m.div((float) bias1)).divi(denom);
                    if (settings.weightDecay() > 0) {
                        delta.addi(scoped(scope, p.mul(settings.weightDecay())));
                    }
                    p.subi(delta.muli(learningRate));
                    JniUtils.zeroGrad((PtNDArray) p);
                }
                return norm;
            }
        });
    }

    private static NDArray scoped(NDManager scope, NDArray a) {
        a.attach(scope);
        return a;
    }

    /** Zeroes accumulated gradients without updating (e.g. after a step is abandoned). */
    public static void zeroGradients(Iterable<NDArray> params) {
        for (NDArray p : params) {
            JniUtils.zeroGrad((PtNDArray) p);
        }
    }

    /** The manager holding the optimizer's state (exposed so tests can check that steps leave nothing behind). */
    public NDManager manager() {
        return manager;
    }

    public long step() {
        return step;
    }

    /** Moments as named host tensors ({@code m/NAME}, {@code v/NAME}) plus the step count, for checkpoints. */
    public Map<String, HostTensor> state() {
        Map<String, HostTensor> out = new LinkedHashMap<>();
        firstMoment.forEach((n, a) -> out.put("m/" + n, new HostTensor(a.getShape().getShape(), a.toFloatArray())));
        secondMoment.forEach((n, a) -> out.put("v/" + n, new HostTensor(a.getShape().getShape(), a.toFloatArray())));
        out.put("step", new HostTensor(new long[] {1}, new float[] {step}));
        return out;
    }

    public void restore(Map<String, HostTensor> state) {
        firstMoment.values().forEach(NDArray::close);
        secondMoment.values().forEach(NDArray::close);
        firstMoment.clear();
        secondMoment.clear();
        state.forEach((n, t) -> {
            if (n.equals("step")) {
                step = (long) t.data()[0];
            } else {
                NDArray a = manager.create(t.data(), new ai.djl.ndarray.types.Shape(t.shape()));
                (n.startsWith("m/") ? firstMoment : secondMoment).put(n.substring(2), a);
            }
        });
    }

    public List<String> names() {
        return List.copyOf(firstMoment.keySet());
    }

    @Override
    public void close() {
        manager.close();
    }
}
