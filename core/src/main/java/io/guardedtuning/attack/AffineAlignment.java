package io.guardedtuning.attack;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import io.guardedtuning.engine.DjlRuntime;
import io.guardedtuning.tensor.HostTensor;

import java.util.Arrays;

/**
 * Affine maps between two spaces of activations, each held as one [d + 1, d] array (the last row is the bias): fitted
 * by ridge least squares from pairs, or by matching the first two moments of two unpaired clouds (CORAL). A secret
 * input adapter that a privacy warm-up tuned from a secret start is, to a large part, an affine re-encoding of the
 * pretrained one's h_in (docs/benchmarks.md, "How far a secret input adapter is from an affine map"), so this is how
 * an attacker carries a pretrained inverter over to it.
 */
public final class AffineAlignment {

    private AffineAlignment() {
    }

    /**
     * The map minimising ‖[x 1]·M − y‖² + ridge·mean(diag xᵀx)·‖M without its bias row‖², for pairs in rows of
     * {@code x} and {@code y} [N, d]; computed in float64, returned as float32 in {@code x}'s manager.
     */
    static NDArray fit(NDArray x, NDArray y, double ridge) {
        return DjlRuntime.withoutGradients(() -> leastSquares(x, y, ridge));
    }

    /** As {@link #fit}, differentiable in {@code x} (the ridge's scale taken as a constant). */
    static NDArray leastSquares(NDArray x, NDArray y, double ridge) {
        long d = x.getShape().get(1);
        NDArray xs = withOnes(x).toType(DataType.FLOAT64, false);
        NDArray gram = xs.transpose().matMul(xs);
        double diagonal = gram.get(new NDIndex(":{}, :{}", d, d)).diagonal().mean().getDouble();
        float[] penalty = new float[(int) (d + 1)];
        Arrays.fill(penalty, 0, (int) d, (float) (ridge * diagonal));
        NDArray regularised = gram.add(x.getManager().eye((int) d + 1).mul(x.getManager().create(penalty))
                .toType(DataType.FLOAT64, false));
        NDArray map = regularised.inverse().matMul(xs.transpose()).matMul(y.toType(DataType.FLOAT64, false));
        return map.toType(DataType.FLOAT32, false);
    }

    /**
     * The map taking {@code from}'s mean and covariance to {@code to}'s (rows are samples): whiten with the inverse
     * square root of one covariance and colour with the square root of the other; unpaired, so it finds the scale
     * and the directions of largest spread, not the rotation between the two.
     */
    static NDArray coral(NDArray from, NDArray to) {
        return DjlRuntime.withoutGradients(() -> onto(from, Moments.of(to)));
    }

    /** As {@link #coral} onto a cloud's moments; differentiable in {@code from}, for a defence that trains against it. */
    static NDArray onto(NDArray from, Moments to) {
        Moments own = Moments.of(from);
        NDArray linear = own.inverseRoot().matMul(to.root()).toType(DataType.FLOAT32, false);
        NDArray bias = to.mean().sub(own.mean().matMul(linear));
        return linear.concat(bias, 0);
    }

    /**
     * A cloud's mean [1, d] and the symmetric square root of its covariance and that root's inverse (float64), in
     * the cloud's manager; differentiable in the cloud.
     */
    record Moments(NDArray mean, NDArray root, NDArray inverseRoot) {

        static Moments of(NDArray x) {
            NDArray mean = x.mean(new int[] {0}, true);
            NDArray[] roots = squareRoots(covariance(x, mean));
            return new Moments(mean, roots[0], roots[1]);
        }
    }

    /** {@code [x 1]·map} for x [N, d]. */
    static NDArray apply(NDArray map, NDArray x) {
        return withOnes(x).matMul(map);
    }

    /**
     * An oracle's fit, for benchmarks: the map fitted on the real positions of rows [0, fitRows) of {@code x} and
     * {@code y} ([B, T, d], real lengths {@code lengths}), applied to the rows after; with the share of y's variance
     * it explains there (R²).
     */
    public record HeldOut(HostTensor mapped, long[] lengths, double r2) {

        public static HeldOut fit(HostTensor x, HostTensor y, long[] lengths, int fitRows, double ridge) {
            try (NDManager scope = DjlRuntime.newManager()) {
                long[] shape = x.shape();
                NDArray xs = ThreatModel.toArray(scope, x).reshape(-1, shape[2]);
                NDArray ys = ThreatModel.toArray(scope, y).reshape(-1, shape[2]);
                long[] fitLengths = Arrays.copyOf(lengths, fitRows);
                long[] restLengths = Arrays.copyOfRange(lengths, fitRows, lengths.length);
                long[] fitAt = BaseAttack.realPositions(fitLengths, shape[1], 0);
                long[] restAt = BaseAttack.realPositions(restLengths, shape[1], fitRows);
                NDArray map = AffineAlignment.fit(xs.get(scope.create(fitAt)), ys.get(scope.create(fitAt)), ridge);
                NDArray rest = xs.get(scope.create(restAt));
                NDArray truth = ys.get(scope.create(restAt));
                NDArray guess = apply(map, rest);
                double r2 = 1 - guess.sub(truth).square().sum().getFloat()
                        / truth.sub(truth.mean(new int[] {0}, true)).square().sum().getFloat();
                float[] out = new float[(int) (restLengths.length * shape[1] * shape[2])];
                float[] mappedRows = guess.toFloatArray();
                for (int i = 0; i < restAt.length; i++) {
                    long at = restAt[i] - (long) fitRows * shape[1];
                    System.arraycopy(mappedRows, (int) (i * shape[2]), out, (int) (at * shape[2]), (int) shape[2]);
                }
                return new HeldOut(new HostTensor(new long[] {restLengths.length, shape[1], shape[2]}, out),
                        restLengths, r2);
            }
        }
    }

    private static NDArray withOnes(NDArray x) {
        return x.concat(x.getManager().ones(new ai.djl.ndarray.types.Shape(x.getShape().get(0), 1),
                x.getDataType()), 1);
    }

    private static NDArray covariance(NDArray x, NDArray mean) {
        NDArray centred = x.sub(mean).toType(DataType.FLOAT64, false);
        NDArray c = centred.transpose().matMul(centred).div(Math.max(1, x.getShape().get(0) - 1));
        // A floor of 1e-6 of the mean variance keeps the inverse root finite where the cloud is flat.
        double floor = 1e-6 * c.diagonal().mean().getDouble();
        return c.add(x.getManager().eye((int) c.getShape().get(0)).toType(DataType.FLOAT64, false).mul(floor));
    }

    /**
     * {S^½, S^-½} of a symmetric positive definite S by the coupled Newton–Schulz iteration on S/‖S‖_F (which
     * converges there), rescaled back.
     */
    private static NDArray[] squareRoots(NDArray s) {
        double norm = s.norm().getDouble();
        NDArray identity = s.getManager().eye((int) s.getShape().get(0)).toType(DataType.FLOAT64, false);
        NDArray y = s.div(norm);
        NDArray z = identity;
        for (int i = 0; i < 60; i++) {
            NDArray t = identity.mul(3).sub(z.matMul(y)).div(2);
            y = y.matMul(t);
            z = t.matMul(z);
        }
        double root = Math.sqrt(norm);
        return new NDArray[] {y.mul(root), z.div(root)};
    }
}
