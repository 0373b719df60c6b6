package io.guardedtuning.wire;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link CodecKernels} on the Vector API. Loaded only when {@link CodecKernels#VECTORISED}: without the incubator
 * module in the boot layer this class cannot link.
 */
final class VectorKernels {

    private static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_PREFERRED;

    private VectorKernels() {
    }

    static void ofRow(float[] x, int from, int length, float[] low, float[] high, int at) {
        FloatVector lo = FloatVector.broadcast(FLOATS, Float.POSITIVE_INFINITY);
        FloatVector hi = FloatVector.broadcast(FLOATS, Float.NEGATIVE_INFINITY);
        int j = 0;
        for (int bound = FLOATS.loopBound(length); j < bound; j += FLOATS.length()) {
            FloatVector v = FloatVector.fromArray(FLOATS, x, from + j);
            lo = lo.min(v);
            hi = hi.max(v);
        }
        float l = lo.reduceLanes(VectorOperators.MIN);
        float h = hi.reduceLanes(VectorOperators.MAX);
        for (; j < length; j++) {
            l = Math.min(l, x[from + j]);
            h = Math.max(h, x[from + j]);
        }
        low[at] = l;
        high[at] = h;
    }

    static void foldColumns(float[] x, int fromRow, int toRow, int width, float[] low, float[] high) {
        int bound = FLOATS.loopBound(width);
        for (int r = fromRow; r < toRow; r++) {
            int base = r * width;
            int j = 0;
            for (; j < bound; j += FLOATS.length()) {
                FloatVector v = FloatVector.fromArray(FLOATS, x, base + j);
                v.min(FloatVector.fromArray(FLOATS, low, j)).intoArray(low, j);
                v.max(FloatVector.fromArray(FLOATS, high, j)).intoArray(high, j);
            }
            for (; j < width; j++) {
                low[j] = Math.min(low[j], x[base + j]);
                high[j] = Math.max(high[j], x[base + j]);
            }
        }
    }
}
