package io.guardedtuning.wire;

import io.guardedtuning.tensor.FloatFormats;
import io.guardedtuning.tensor.HostTensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.ShortBuffer;

/** fp32, fp16 or bf16 elements, little-endian, C order. fp32 is bit-exact; the 16-bit forms round to nearest even. */
final class FloatCodec implements TensorCodec {

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
        ByteBuffer out = ByteBuffer.allocate(Math.toIntExact(encodedSize(tensor.shape()))).order(ByteOrder.LITTLE_ENDIAN);
        if (format == CodecFormat.FP32) {
            out.asFloatBuffer().put(data);
        } else {
            ShortBuffer halves = out.asShortBuffer();
            for (float v : data) {
                halves.put(format == CodecFormat.FP16 ? FloatFormats.toFloat16(v) : FloatFormats.toBfloat16(v));
            }
        }
        return out.array();
    }

    @Override
    public HostTensor decode(long[] shape, byte[] payload) {
        TensorCodec.requireSize(encodedSize(shape), payload.length);
        ByteBuffer in = ByteBuffer.wrap(payload).order(ByteOrder.LITTLE_ENDIAN);
        float[] data = new float[Math.toIntExact(HostTensor.numel(shape))];
        if (format == CodecFormat.FP32) {
            in.asFloatBuffer().get(data);
        } else {
            ShortBuffer halves = in.asShortBuffer();
            for (int i = 0; i < data.length; i++) {
                short h = halves.get();
                data[i] = format == CodecFormat.FP16 ? FloatFormats.fromFloat16(h) : FloatFormats.fromBfloat16(h);
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
