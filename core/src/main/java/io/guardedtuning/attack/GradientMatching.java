package io.guardedtuning.attack;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;
import io.guardedtuning.engine.DjlRuntime;
import io.guardedtuning.model.TokenBatch;
import io.guardedtuning.train.AdamW;

import java.util.Map;

/**
 * The engine of TAG and BiSR(b): optimise token logits G [B, T, V], P = softmax(G), so that the gradient the
 * pretrained output adapter would send for labels P, {@code ĝ = ∂ℓ(P)/∂h_out}, matches the observed {@code g_out}
 * under {@code D = β‖ĝ − g‖² + (1−β)‖ĝ − g‖₁}.
 *
 * <p>∂D/∂P needs a Jacobian-vector product of f_out⁰. Double backward (create-graph) does work in DJL 0.36:
 * {@code JniUtils.backward(.., createGraph=true)} leaves a differentiable {@code .grad} (verified in
 * GradientMatchingTest). It is not used here because DJL cannot reset {@code .grad} to None, and PyTorch warns that
 * create-graph backward into a leaf forms a reference cycle (leaf → grad → graph → leaf) that leaks every step's
 * graph. Instead, since {@code ĝ = J_fᵀ c} with {@code c = (softmax(z) − P_shift)/N} is linear in P:
 * <ol>
 *   <li>ĝ comes from one ordinary backward pass seeded with c;</li>
 *   <li>{@code r = ∂D/∂ĝ = 2β(ĝ − g) + (1−β)·sign(ĝ − g)};</li>
 *   <li>{@code u = J_f·r ≈ (f(h_out + εr) − f(h_out − εr))/(2ε)} (central difference, two forward passes);</li>
 *   <li>{@code ∂D/∂P_shift = −u/N}, then one small backward through the softmax to G.</li>
 * </ol>
 */
public final class GradientMatching {

    /**
     * @param relativeStep the finite-difference step as a fraction of {@code ‖h_out‖/‖r‖}
     */
    public record Settings(int steps, float learningRate, float beta, float weightDecay, float relativeStep) {

        public Settings {
            if (steps < 0 || beta < 0 || beta > 1 || !(relativeStep > 0)) {
                throw new IllegalArgumentException("invalid gradient-matching settings");
            }
        }

        /** TAG: 300 steps, lr 0.09, β = 0.85, weight decay 0.01 (AdamW eps 1e-6). */
        public static Settings tag() {
            return new Settings(300, 0.09f, 0.85f, 0.01f, 1e-3f);
        }

        /** BiSR(b): as TAG but about 18 steps, since it starts from SIP. */
        public static Settings bisr() {
            return new Settings(18, 0.09f, 0.85f, 0.01f, 1e-3f);
        }
    }

    private GradientMatching() {
    }

    /** Runs the optimisation from {@code initialLogits} (consumed; in {@code scope}) and returns the guess. */
    static BaseAttack.Guess run(Observation o, ThreatModel threatModel, NDManager scope, NDArray initialLogits,
                                Settings settings, String start) {
        long[] lengths = o.lengths();
        Objective objective = new Objective(o, threatModel, scope);
        NDArray logits = initialLogits;
        logits.setRequiresGradient(true);
        AdamW.Settings adam = new AdamW.Settings(0.9f, 0.999f, 1e-6f, settings.weightDecay(), 0f);
        float mismatch = Float.NaN;
        try (AdamW optimizer = new AdamW(adam)) {
            for (int step = 0; step < settings.steps(); step++) {
                try (NDManager stepScope = scope.newSubManager()) {
                    stepScope.tempAttachAll(logits);
                    NDArray probabilities = DjlRuntime.withoutGradients(() -> logits.softmax(-1));
                    NDArray gradient = objective.gradientWrtProbabilities(probabilities, settings, stepScope);
                    mismatch = objective.lastMismatch;
                    try (GradientCollector gc = DjlRuntime.gradientCollector()) {
                        gc.backward(logits.softmax(-1).mul(gradient).sum());
                    }
                }
                optimizer.update(Map.of("logits", logits), settings.learningRate());
            }
        }
        try (TokenBatch batch = threatModel.batchFor(scope, lengths)) {
            return new BaseAttack.Guess(BaseAttack.argmaxTokens(logits, lengths),
                    BaseAttack.meanMaxProbability(logits, batch.attentionMask()),
                    String.format("%d steps from %s, gradient mismatch %.3g, Jacobian-vector product by central "
                            + "difference", settings.steps(), start, mismatch));
        }
    }

    /** D(P) and ∂D/∂P for one observation; constants live in the attack's scope. */
    static final class Objective {

        private final ThreatModel threatModel;
        private final long[] lengths;
        private final NDArray hOut;
        private final NDArray observedGradient;
        private final NDArray surrogateProbabilities;
        private final NDArray targetWeights;
        private final double hOutNorm;
        float lastMismatch = Float.NaN;

        Objective(Observation o, ThreatModel threatModel, NDManager scope) {
            this.threatModel = threatModel;
            this.lengths = o.lengths();
            this.hOut = ThreatModel.toArray(scope, o.hOut());
            this.observedGradient = ThreatModel.toArray(scope, o.gOut());
            long[] shape = o.hOut().shape();
            int t = (int) shape[1];
            float[] weights = new float[(int) (shape[0] * t)];
            long targets = 0;
            for (int b = 0; b < lengths.length; b++) {
                for (int i = 0; i + 1 < lengths[b]; i++) {
                    weights[b * t + i] = 1;
                    targets++;
                }
            }
            if (targets == 0) {
                throw new IllegalArgumentException("no sequence has a next-token target (all lengths are 1)");
            }
            // Position t's loss term predicts token t+1; 1/N is the client's normalisation.
            float scale = threatModel.lossNormalisation() == ThreatModel.LossNormalisation.SUM ? 1f : 1f / targets;
            for (int i = 0; i < weights.length; i++) {
                weights[i] *= scale;
            }
            this.targetWeights = scope.create(weights, new Shape(shape[0], t, 1));
            this.surrogateProbabilities = DjlRuntime.withoutGradients(() -> {
                try (TokenBatch batch = threatModel.batchFor(scope, lengths)) {
                    return threatModel.outputAdapter(hOut, batch).softmax(-1);
                }
            });
            this.hOutNorm = DjlRuntime.withoutGradients(() -> (double) hOut.norm().getFloat());
        }

        /** ∂D/∂P [B, T, V] at {@code probabilities} (no gradient), in {@code stepScope}; records D. */
        NDArray gradientWrtProbabilities(NDArray probabilities, Settings settings, NDManager stepScope) {
            Shape shape = probabilities.getShape();
            Shape row = new Shape(shape.get(0), 1, shape.get(2));
            try (TokenBatch batch = threatModel.batchFor(stepScope, lengths)) {
                NDArray seed = DjlRuntime.withoutGradients(() -> probabilities.get(":, 1:, :")
                        .concat(stepScope.zeros(row), 1).neg().add(surrogateProbabilities).mul(targetWeights));
                NDArray leaf = hOut.duplicate();
                leaf.attach(stepScope);
                leaf.setRequiresGradient(true);
                try (GradientCollector gc = DjlRuntime.gradientCollector()) {
                    JniUtils.backward((PtNDArray) threatModel.outputAdapter(leaf, batch), (PtNDArray) seed, false,
                            false);
                }
                NDArray predicted = leaf.getGradient();
                return DjlRuntime.withoutGradients(() -> {
                    NDArray difference = predicted.sub(observedGradient);
                    float beta = settings.beta();
                    lastMismatch = beta * difference.square().sum().getFloat()
                            + (1 - beta) * difference.abs().sum().getFloat();
                    NDArray direction = difference.mul(2 * beta).add(difference.sign().mul(1 - beta));
                    double directionNorm = direction.norm().getFloat();
                    if (directionNorm == 0) {
                        return stepScope.zeros(shape);
                    }
                    float eps = (float) (settings.relativeStep() * Math.max(hOutNorm, 1e-12) / directionNorm);
                    NDArray plus = threatModel.outputAdapter(direction.mul(eps).add(hOut), batch);
                    NDArray minus = threatModel.outputAdapter(direction.mul(-eps).add(hOut), batch);
                    NDArray jvp = plus.sub(minus).div(2 * eps);
                    NDArray shifted = jvp.mul(targetWeights).neg();
                    // ∂D/∂P_shift at t is ∂D/∂P at t+1; position 0 is never a target.
                    return stepScope.zeros(row).concat(shifted.get(":, :-1, :"), 1);
                });
            }
        }
    }
}
