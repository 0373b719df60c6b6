package io.guardedtuning.attack;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;
import io.guardedtuning.engine.DjlRuntime;
import io.guardedtuning.model.OptModel;
import io.guardedtuning.model.TokenBatch;
import io.guardedtuning.tensor.HostTensor;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The finite-difference ∂D/∂P that TAG and BiSR(b) use against the exact one from double backward. Finding
 * (DJL 0.36, libtorch 2.7.1): {@code JniUtils.backward(loss, seed, keepGraph, createGraph=true)} works, and the
 * array {@code getGradient()} then returns is still in the graph, so a second backward through it is exact — as
 * long as nobody zeroes that leaf's gradient in between ({@code zeroGrad} zeroes it in place, i.e. zeroes ĝ).
 */
class GradientMatchingTest {

    @Test
    void finiteDifferenceGradientMatchesDoubleBackward() {
        Map<String, HostTensor> weights = OptModel.randomTensors(AttackTest.CONFIG, 11, n -> true);
        List<int[]> secret = ClientSimulation.randomSequences(new Random(3), 3, 5, 9, AttackTest.CONFIG.vocabSize());
        GradientMatching.Settings settings = GradientMatching.Settings.tag();
        try (OptModel client = OptModel.fromTensors(AttackTest.CONFIG, weights);
             ThreatModel tm = ThreatModel.of(AttackTest.CONFIG, AttackTest.SPLIT, weights, List.of(),
                     ThreatModel.LossNormalisation.MEAN_OVER_TARGETS, WireDefence.NONE);
             NDManager scope = DjlRuntime.newManager()) {
            Observation o = ClientSimulation.observe(client, AttackTest.SPLIT, secret, WireDefence.NONE, 1, true);
            long[] shape = o.hOut().shape();
            int vocab = AttackTest.CONFIG.vocabSize();
            float[] random = new float[(int) (shape[0] * shape[1] * vocab)];
            Random r = new Random(5);
            for (int i = 0; i < random.length; i++) {
                random[i] = (float) r.nextGaussian() * 2;
            }
            NDArray probabilities = DjlRuntime.withoutGradients(
                    () -> scope.create(random, new Shape(shape[0], shape[1], vocab)).softmax(-1));

            GradientMatching.Objective objective = new GradientMatching.Objective(o, tm, scope);
            float[] approximateP = objective.gradientWrtProbabilities(probabilities, settings, scope).toFloatArray();

            NDArray p = probabilities.duplicate();
            p.setRequiresGradient(true);
            NDArray h = ThreatModel.toArray(scope, o.hOut());
            h.setRequiresGradient(true);
            NDArray observed = ThreatModel.toArray(scope, o.gOut());
            NDArray beta = scope.create(settings.beta());
            NDArray oneMinusBeta = scope.create(1 - settings.beta());
            long[] lengths = o.lengths();
            float[] mask = new float[(int) (shape[0] * shape[1])];
            int targets = 0;
            for (int b = 0; b < lengths.length; b++) {
                for (int t = 0; t + 1 < lengths[b]; t++) {
                    mask[(int) (b * shape[1] + t)] = 1;
                    targets++;
                }
            }
            NDArray weightsPerPosition = scope.create(mask, new Shape(shape[0], shape[1], 1)).div(targets);
            float exactMismatch;
            try (TokenBatch batch = tm.batchFor(scope, lengths);
                 GradientCollector gc = DjlRuntime.gradientCollector()) {
                NDArray shifted = p.get(":, 1:, :").concat(scope.zeros(new Shape(shape[0], 1, vocab)), 1);
                NDArray loss = shifted.mul(tm.outputAdapter(h, batch).logSoftmax(-1)).mul(weightsPerPosition)
                        .sum().neg();
                JniUtils.backward((PtNDArray) loss, (PtNDArray) scope.ones(loss.getShape()), true, true);
                NDArray predicted = h.getGradient();
                JniUtils.zeroGrad((PtNDArray) p);
                NDArray difference = predicted.sub(observed);
                NDArray mismatch = difference.square().sum().mul(beta).add(difference.abs().sum().mul(oneMinusBeta));
                exactMismatch = mismatch.getFloat();
                JniUtils.backward((PtNDArray) mismatch, (PtNDArray) scope.ones(mismatch.getShape()), false, false);
            }
            // The exact ∂D/∂P also differentiates through Σ_v P = 1, which the finite-difference path takes as
            // given; that part is constant over v and vanishes through the softmax, so compare ∂D/∂G.
            float[] probs = probabilities.toFloatArray();
            double[] exact = logitGradient(p.getGradient().toFloatArray(), probs, vocab);
            double[] approximate = logitGradient(approximateP, probs, vocab);

            double dot = 0;
            double exactNorm = 0;
            double errorNorm = 0;
            for (int i = 0; i < exact.length; i++) {
                dot += exact[i] * approximate[i];
                exactNorm += exact[i] * exact[i];
                errorNorm += (exact[i] - approximate[i]) * (exact[i] - approximate[i]);
            }
            double relativeError = Math.sqrt(errorNorm / exactNorm);
            System.out.printf("∂D/∂G: finite difference vs double backward, relative L2 error %.2e%n",
                    relativeError);
            assertTrue(exactNorm > 0, "the exact gradient is zero");
            assertTrue(dot > 0);
            assertTrue(relativeError < 1e-2, "relative error " + relativeError);
            assertEquals(exactMismatch, objective.lastMismatch, 1e-4 * Math.abs(exactMismatch));
        }
    }

    /** Chains ∂D/∂P through P = softmax(G): {@code ∂D/∂G = P ⊙ (∂D/∂P − ⟨P, ∂D/∂P⟩)} per position. */
    private static double[] logitGradient(float[] dp, float[] p, int vocab) {
        double[] out = new double[dp.length];
        for (int at = 0; at < dp.length; at += vocab) {
            double inner = 0;
            for (int v = 0; v < vocab; v++) {
                inner += p[at + v] * dp[at + v];
            }
            for (int v = 0; v < vocab; v++) {
                out[at + v] = p[at + v] * (dp[at + v] - inner);
            }
        }
        return out;
    }
}
