package io.guardedtuning.wire;

import io.guardedtuning.tensor.HostTensor;

/**
 * Turns an fp32 host tensor into wire bytes and back. Instances come from {@link CodecSpec#newCodec()}; a codec
 * with stochastic rounding is stateful (it advances its random stream), so use one per producing thread.
 */
public interface TensorCodec {

    byte[] encode(HostTensor tensor);

    /** @throws WireRejectionException with SIZE_MISMATCH or NON_FINITE when the payload cannot be this tensor */
    HostTensor decode(long[] shape, byte[] payload);

    /** Payload bytes for a tensor of this shape before lossless compression. */
    long encodedSize(long[] shape);

    /** Nominal bytes per element, not counting per-row scales or index overhead. */
    double bytesPerElement();

    default ReconstructionError roundTripError(HostTensor tensor) {
        return ReconstructionError.between(tensor, decode(tensor.shape(), encode(tensor)));
    }

    static void requireSize(long expected, long actual) {
        if (expected != actual) {
            throw new WireRejectionException(RejectReason.SIZE_MISMATCH,
                    "payload has " + actual + " bytes, shape and codec need " + expected);
        }
    }
}
