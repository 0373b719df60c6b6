package io.guardedtuning.wire;

import io.guardedtuning.tensor.HostTensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * Top-k sparsification (for gradients): keeps the k elements of largest magnitude over the whole tensor, the rest
 * decode as 0. Layout: min(k, numel) int32 little-endian flat indices in ascending order, then the values as a 1-D
 * tensor of that length in the inner codec's layout.
 */
final class TopKCodec implements TensorCodec {

    private final int k;
    private final TensorCodec values;

    TopKCodec(int k, TensorCodec values) {
        this.k = k;
        this.values = values;
    }

    private int kept(long[] shape) {
        return (int) Math.min(k, HostTensor.numel(shape));
    }

    @Override
    public byte[] encode(HostTensor tensor) {
        float[] data = tensor.data();
        int[] indices = largestMagnitudeIndices(data, kept(tensor.shape()));
        float[] kept = new float[indices.length];
        for (int i = 0; i < indices.length; i++) {
            kept[i] = data[indices[i]];
        }
        byte[] encodedValues = values.encode(new HostTensor(new long[] {kept.length}, kept));
        ByteBuffer out = ByteBuffer.allocate(4 * indices.length + encodedValues.length).order(ByteOrder.LITTLE_ENDIAN);
        out.asIntBuffer().put(indices);
        out.position(4 * indices.length);
        out.put(encodedValues);
        return out.array();
    }

    /**
     * Indices of the n largest |x|, ascending; ties broken towards the lower index so the result is deterministic.
     * A two-level radix select on the magnitude's bits (for non-negative floats the raw bits order like the values;
     * NaN counts as the largest): a histogram of the upper 16 bits finds the bucket holding the n-th largest, one
     * pass keeps everything above it and collects the bucket, and the lower 16 bits settle the bucket. Two passes
     * over the tensor, no sort of it.
     */
    static int[] largestMagnitudeIndices(float[] data, int n) {
        if (n == 0) {
            return new int[0];
        }
        int[] histogram = new int[1 << 16];
        for (float v : data) {
            histogram[magnitudeKey(v) >>> 16]++;
        }
        int above = 0;
        int bucket = histogram.length - 1;
        while (above + histogram[bucket] < n) {
            above += histogram[bucket--];
        }
        int[] kept = new int[above];
        int[] candidates = new int[histogram[bucket]];
        int k = 0;
        int c = 0;
        for (int i = 0; i < data.length; i++) {
            int upper = magnitudeKey(data[i]) >>> 16;
            if (upper > bucket) {
                kept[k++] = i;
            } else if (upper == bucket) {
                candidates[c++] = i;
            }
        }
        int[] fromBucket = largestLowerHalves(data, candidates, n - above);
        return mergeAscending(kept, fromBucket);
    }

    private static int magnitudeKey(float v) {
        return Float.floatToIntBits(Math.abs(v)) & 0x7FFFFFFF;
    }

    /** The {@code need} candidates (ascending indices, same upper half) with the largest lower halves, ascending. */
    private static int[] largestLowerHalves(float[] data, int[] candidates, int need) {
        int[] histogram = new int[1 << 16];
        for (int i : candidates) {
            histogram[magnitudeKey(data[i]) & 0xFFFF]++;
        }
        int above = 0;
        int threshold = histogram.length - 1;
        while (above + histogram[threshold] < need) {
            above += histogram[threshold--];
        }
        int ties = need - above; // keys equal to the threshold: the lowest indices win
        int[] chosen = new int[need];
        int n = 0;
        for (int i : candidates) {
            int lower = magnitudeKey(data[i]) & 0xFFFF;
            if (lower > threshold || (lower == threshold && ties-- > 0)) {
                chosen[n++] = i;
            }
        }
        return chosen;
    }

    private static int[] mergeAscending(int[] a, int[] b) {
        int[] out = new int[a.length + b.length];
        int i = 0;
        int j = 0;
        for (int o = 0; o < out.length; o++) {
            out[o] = j == b.length || (i < a.length && a[i] < b[j]) ? a[i++] : b[j++];
        }
        return out;
    }

    @Override
    public HostTensor decode(long[] shape, byte[] payload) {
        TensorCodec.requireSize(encodedSize(shape), payload.length);
        int n = kept(shape);
        int numel = Math.toIntExact(HostTensor.numel(shape));
        ByteBuffer in = ByteBuffer.wrap(payload).order(ByteOrder.LITTLE_ENDIAN);
        int[] indices = new int[n];
        in.asIntBuffer().get(indices);
        float[] keptValues = values.decode(new long[] {n}, Arrays.copyOfRange(payload, 4 * n, payload.length)).data();
        float[] data = new float[numel];
        int previous = -1;
        for (int i = 0; i < n; i++) {
            if (indices[i] <= previous || indices[i] >= numel) {
                throw new WireRejectionException(RejectReason.SIZE_MISMATCH,
                        "top-k index " + indices[i] + " out of order or outside " + numel + " elements");
            }
            previous = indices[i];
            data[indices[i]] = keptValues[i];
        }
        return new HostTensor(shape.clone(), data);
    }

    @Override
    public long encodedSize(long[] shape) {
        int n = kept(shape);
        return 4L * n + values.encodedSize(new long[] {n});
    }

    @Override
    public double bytesPerElement() {
        return 4 + values.bytesPerElement();
    }
}
