package io.guardedtuning.tensor;

import java.util.Arrays;

/**
 * A dense fp32 tensor in Java memory (C order). The exchange type between code that must not depend on a DJL
 * engine — checkpoint files, wire codecs — and the model, which turns it into an NDArray.
 */
public record HostTensor(long[] shape, float[] data) {

    public HostTensor {
        long n = numel(shape);
        if (n != data.length) {
            throw new IllegalArgumentException(
                    "shape " + Arrays.toString(shape) + " holds " + n + " elements but data has " + data.length);
        }
    }

    public static long numel(long[] shape) {
        long n = 1;
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
            }
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /** The named tensors whose names {@code keep} accepts, in their order: a party's share of a checkpoint. */
    public static java.util.Map<String, HostTensor> select(java.util.Map<String, HostTensor> tensors,
                                                           java.util.function.Predicate<String> keep) {
        java.util.Map<String, HostTensor> out = new java.util.LinkedHashMap<>();
        tensors.forEach((name, t) -> {
            if (keep.test(name)) {
                out.put(name, t);
            }
        });
        return out;
    }

    public long numel() {
        return data.length;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof HostTensor t && Arrays.equals(shape, t.shape) && Arrays.equals(data, t.data);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(shape) + Arrays.hashCode(data);
    }

    @Override
    public String toString() {
        return "HostTensor" + Arrays.toString(shape);
    }
}
