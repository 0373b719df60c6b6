package io.guardedtuning.wire;

import io.guardedtuning.tensor.FloatFormats;
import io.guardedtuning.tensor.HostTensor;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * fp32, fp16 or bf16 elements, little-endian, C order. fp32 is bit-exact; the 16-bit forms round to nearest even.
 * fp32 moves as one bulk copy; the 16-bit forms convert in a flat loop writing straight into the payload array
 * (a little-endian view handle is one plain load or store, where a buffer view pays position and bounds per call).
 */
final class FloatCodec implements TensorCodec {

    private static final VarHandle SHORT_LE = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);

    private final CodecFormat format;

    FloatCodec(CodecFormat format) {
        if (format != CodecFormat.FP32 && format != CodecFormat.FP16 && format != CodecFormat.BF16) {
            throw new IllegalArgumentException("not a float format: " + format);
        }
        this.format = format;
    }

    @Override
    public byte[] encode(HostTensor tensor) {
        float[] data = tensor.data();
        byte[] out = new byte[Math.toIntExact(encodedSize(tensor.shape()))];
        if (format == CodecFormat.FP32) {
            ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().put(data);
        } else if (format == CodecFormat.FP16) {
            for (int i = 0; i < data.length; i++) {
                SHORT_LE.set(out, 2 * i, FloatFormats.toFloat16(data[i]));
            }
        } else {
            for (int i = 0; i < data.length; i++) {
                SHORT_LE.set(out, 2 * i, FloatFormats.toBfloat16(data[i]));
            }
        }
        return out;
    }

    @Override
    public HostTensor decode(long[] shape, byte[] payload) {
        TensorCodec.requireSize(encodedSize(shape), payload.length);
        float[] data = new float[Math.toIntExact(HostTensor.numel(shape))];
        if (format == CodecFormat.FP32) {
            ByteBuffer.wrap(payload).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(data);
        } else if (format == CodecFormat.FP16) {
            for (int i = 0; i < data.length; i++) {
                data[i] = FloatFormats.fromFloat16((short) SHORT_LE.get(payload, 2 * i));
            }
        } else {
            for (int i = 0; i < data.length; i++) {
                data[i] = FloatFormats.fromBfloat16((short) SHORT_LE.get(payload, 2 * i));
            }
        }
        return new HostTensor(shape.clone(), data);
    }

    @Override
    public long encodedSize(long[] shape) {
        return HostTensor.numel(shape) * (long) format.bytesPerElement();
    }

    @Override
    public double bytesPerElement() {
        return format.bytesPerElement();
    }
}
