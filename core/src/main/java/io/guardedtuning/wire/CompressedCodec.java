package io.guardedtuning.wire;

import io.guardedtuning.tensor.HostTensor;

/** Lossless compression on top of another codec's payload. */
final class CompressedCodec implements TensorCodec {

    private final TensorCodec inner;
    private final PayloadCompression compression;

    CompressedCodec(TensorCodec inner, PayloadCompression compression) {
        this.inner = inner;
        this.compression = compression;
    }

    @Override
    public byte[] encode(HostTensor tensor) {
        return compression.compress(inner.encode(tensor));
    }

    @Override
    public HostTensor decode(long[] shape, byte[] payload) {
        return inner.decode(shape, compression.decompress(payload, inner.encodedSize(shape)));
    }

    /** The uncompressed size: the compressed one depends on the data. */
    @Override
    public long encodedSize(long[] shape) {
        return inner.encodedSize(shape);
    }

    @Override
    public double bytesPerElement() {
        return inner.bytesPerElement();
    }
}
