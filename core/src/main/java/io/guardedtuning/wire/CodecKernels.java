package io.guardedtuning.wire;

/**
 * The quantising codecs' range pass: each group's minimum and maximum, per row for per-token scales, per column for
 * per-channel ones. Where the JVM was started with {@code --add-modules jdk.incubator.vector} it runs on the JDK's
 * Vector API ({@link VectorKernels}; C2 does not vectorise {@code Math.min} over floats itself), otherwise on scalar
 * loops. Both give the same floats bit for bit: min and max are exact and propagate NaN alike, so a non-finite input
 * still shows up in the extremes. The coding pass stays scalar: on JDK 17 the Vector API's float-to-double and
 * double-to-byte conversions it needs run about 3× slower than the scalar loop (docs/benchmarks.md).
 */
final class CodecKernels {

    /** Whether the Vector API kernels run: the module is in the boot layer only when the JVM was asked for it. */
    static final boolean VECTORISED = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();

    private CodecKernels() {
    }

    /** Minimum and maximum of x[from, from + length) into low[at] and high[at]. */
    static void ofRow(float[] x, int from, int length, float[] low, float[] high, int at) {
        if (VECTORISED) {
            VectorKernels.ofRow(x, from, length, low, high, at);
        } else {
            scalarOfRow(x, from, length, low, high, at);
        }
    }

    /**
     * Folds rows [fromRow, toRow) of width {@code width} into the running per-column extremes low[0, width) and
     * high[0, width).
     */
    static void foldColumns(float[] x, int fromRow, int toRow, int width, float[] low, float[] high) {
        if (VECTORISED) {
            VectorKernels.foldColumns(x, fromRow, toRow, width, low, high);
        } else {
            scalarFoldColumns(x, fromRow, toRow, width, low, high);
        }
    }

    static void scalarOfRow(float[] x, int from, int length, float[] low, float[] high, int at) {
        float lo = Float.POSITIVE_INFINITY;
        float hi = Float.NEGATIVE_INFINITY;
        for (int i = from, end = from + length; i < end; i++) {
            lo = Math.min(lo, x[i]);
            hi = Math.max(hi, x[i]);
        }
        low[at] = lo;
        high[at] = hi;
    }

    static void scalarFoldColumns(float[] x, int fromRow, int toRow, int width, float[] low, float[] high) {
        for (int r = fromRow; r < toRow; r++) {
            int base = r * width;
            for (int j = 0; j < width; j++) {
                low[j] = Math.min(low[j], x[base + j]);
                high[j] = Math.max(high[j], x[base + j]);
            }
        }
    }
}
