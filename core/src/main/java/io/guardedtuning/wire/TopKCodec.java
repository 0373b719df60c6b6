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

    /** Indices of the n largest |x|, ascending; ties broken towards the lower index so the result is deterministic. */
    static int[] largestMagnitudeIndices(float[] data, int n) {
        if (n == 0) {
            return new int[0];
        }
        // Sort (|x| bits, index) pairs packed in a long: for non-negative floats the raw bits order like the values.
        long[] keyed = new long[data.length];
        for (int i = 0; i < data.length; i++) {
            long magnitude = Float.floatToIntBits(Math.abs(data[i])) & 0x7FFFFFFFL;
            keyed[i] = (magnitude << 32) | (0xFFFFFFFFL - i);
        }
        Arrays.sort(keyed);
        int[] indices = new int[n];
        for (int i = 0; i < n; i++) {
            indices[i] = (int) (0xFFFFFFFFL - (keyed[keyed.length - 1 - i] & 0xFFFFFFFFL));
        }
        Arrays.sort(indices);
        return indices;
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
