package io.guardedtuning.wire;

import io.guardedtuning.tensor.HostTensor;
import java.util.Arrays;

/** How far a decoded tensor is from the original: worst element and root mean square. */
public record ReconstructionError(double maxAbs, double rms) {

    public static ReconstructionError between(HostTensor original, HostTensor decoded) {
        if (!Arrays.equals(original.shape(), decoded.shape())) {
            throw new IllegalArgumentException(original + " vs " + decoded);
        }
        float[] a = original.data();
        float[] b = decoded.data();
        double max = 0;
        double sumSquares = 0;
        for (int i = 0; i < a.length; i++) {
            double d = Math.abs((double) a[i] - b[i]);
            max = Math.max(max, d);
            sumSquares += d * d;
        }
        return new ReconstructionError(max, a.length == 0 ? 0 : Math.sqrt(sumSquares / a.length));
    }
}
