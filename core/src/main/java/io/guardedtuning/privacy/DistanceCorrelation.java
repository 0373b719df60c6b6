package io.guardedtuning.privacy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;

/**
 * Squared distance correlation dCor²(X, Z) ∈ [0, 1] (NoPeek): 0 when Z is independent of X, 1 when Z is a
 * similarity transform of X. The result is a differentiable scalar, so it can be minimised inside a
 * {@code GradientCollector}.
 *
 * <p>Numerics: distances come from the Gram matrix, are clamped at 0 (rounding makes some slightly negative) and
 * go through {@code sqrt(d² + eps)}, because the derivative of {@code sqrt} at the zero diagonal (or at duplicate
 * rows) would be infinite; eps also keeps the denominator away from 0. Scalars inside the graph are arrays created
 * in the inputs' manager, never {@code Number}s (DJL frees those before backward).
 */
public final class DistanceCorrelation {

    /** How rows are formed from [B, T, d] activations. */
    public enum Rows {
        /** One row per non-pad token (subsampled): what the attacks invert. */
        PER_TOKEN,
        /** One row per sequence, the mean over its non-pad tokens: only B rows, noisy and biased upward. */
        PER_SEQUENCE_MEAN
    }

    public static final int DEFAULT_MAX_ROWS = 512;
    public static final float DEFAULT_EPS = 1e-9f;

    private final Rows rows;
    private final int maxRows;
    private final float eps;

    public DistanceCorrelation(Rows rows, int maxRows, float eps) {
        if (maxRows < 2) {
            throw new IllegalArgumentException("dCor needs at least 2 rows, maxRows=" + maxRows);
        }
        if (!(eps > 0)) {
            throw new IllegalArgumentException("eps must be > 0, got " + eps);
        }
        this.rows = rows;
        this.maxRows = maxRows;
        this.eps = eps;
    }

    public static DistanceCorrelation perToken() {
        return new DistanceCorrelation(Rows.PER_TOKEN, DEFAULT_MAX_ROWS, DEFAULT_EPS);
    }

    public Rows rows() {
        return rows;
    }

    /**
     * dCor² between {@code x} [B, T, dx] and {@code z} [B, T, dz] over the rows {@link #rows()} selects;
     * {@code attentionMask} [B, T] is 1 on real tokens and 0 on padding. With fewer than 2 rows dCor is undefined
     * and the result is a constant 0, so that a training step on a one-token batch still runs.
     */
    public NDArray squared(NDArray x, NDArray z, NDArray attentionMask) {
        long available = rows == Rows.PER_SEQUENCE_MEAN ? attentionMask.getShape().get(0)
                : (long) attentionMask.sum().getFloat();
        if (available < 2) {
            return attentionMask.getManager().zeros(new Shape());
        }
        if (rows == Rows.PER_SEQUENCE_MEAN) {
            NDArray weights = attentionMask.expandDims(-1);
            NDArray counts = attentionMask.sum(new int[] {1}, true).maximum(1f);
            return squaredOfRows(x.mul(weights).sum(new int[] {1}).div(counts),
                    z.mul(weights).sum(new int[] {1}).div(counts));
        }
        NDArray index = tokenRows(attentionMask);
        return squaredOfRows(x.reshape(-1, x.getShape().get(2)).get(new NDIndex("{}", index)),
                z.reshape(-1, z.getShape().get(2)).get(new NDIndex("{}", index)));
    }

    /**
     * Flat indices of at most {@code maxRows} non-pad tokens, evenly spaced so that every sequence contributes and
     * the choice is deterministic.
     */
    private NDArray tokenRows(NDArray attentionMask) {
        float[] mask = attentionMask.toFloatArray();
        int real = 0;
        for (float m : mask) {
            real += m > 0 ? 1 : 0;
        }
        long[] all = new long[real];
        for (int i = 0, j = 0; i < mask.length; i++) {
            if (mask[i] > 0) {
                all[j++] = i;
            }
        }
        int n = Math.min(real, maxRows);
        long[] picked = new long[n];
        for (int i = 0; i < n; i++) {
            picked[i] = all[(int) ((long) i * real / n)];
        }
        return attentionMask.getManager().create(picked, new Shape(n));
    }

    /** dCor² of paired rows {@code x} [n, dx] and {@code z} [n, dz]. */
    public NDArray squaredOfRows(NDArray x, NDArray z) {
        long n = x.getShape().get(0);
        if (n != z.getShape().get(0) || n < 2) {
            throw new IllegalArgumentException("dCor needs the same number (>= 2) of rows in X and Z, got "
                    + x.getShape() + " and " + z.getShape());
        }
        NDManager m = x.getManager();
        NDArray epsilon = m.create(eps);
        NDArray two = m.create(2f);
        NDArray zero = m.create(0f);
        NDArray a = centredDistances(x, epsilon, two, zero);
        NDArray b = centredDistances(z, epsilon, two, zero);
        NDArray covariance = a.mul(b).mean();
        NDArray varianceProduct = a.mul(a).mean().mul(b.mul(b).mean());
        return covariance.div(varianceProduct.add(epsilon).sqrt());
    }

    private static NDArray centredDistances(NDArray rows, NDArray epsilon, NDArray two, NDArray zero) {
        NDArray norms = rows.square().sum(new int[] {1}, true);
        NDArray gram = rows.matMul(rows.transpose());
        NDArray squared = norms.add(norms.transpose()).sub(gram.mul(two)).maximum(zero);
        NDArray d = squared.add(epsilon).sqrt();
        return d.sub(d.mean(new int[] {0}, true)).sub(d.mean(new int[] {1}, true)).add(d.mean());
    }
}
