package io.guardedtuning.benchmarks;

import io.guardedtuning.tensor.HostTensor;
import io.guardedtuning.wire.CodecFormat;
import io.guardedtuning.wire.CodecSpec;
import io.guardedtuning.wire.PayloadCompression;
import java.util.Map;
import java.util.Random;

/**
 * Activation-like data until real activations of the model exist: standard Gaussian with a few outlier channels
 * (x20), as transformer hidden states have, and the codecs under comparison.
 */
final class SyntheticActivations {

    private static final int[] OUTLIER_CHANNELS = {7, 311, 1024, 1777};

    private SyntheticActivations() {
    }

    static HostTensor activation(long[] shape, long seed) {
        Random rnd = new Random(seed);
        int channels = (int) shape[shape.length - 1];
        float[] data = new float[(int) HostTensor.numel(shape)];
        for (int i = 0; i < data.length; i++) {
            data[i] = (float) rnd.nextGaussian();
        }
        for (int row = 0; row < data.length / channels; row++) {
            for (int c : OUTLIER_CHANNELS) {
                if (c < channels) {
                    data[row * channels + c] *= 20;
                }
            }
        }
        return new HostTensor(shape, data);
    }

    static final Map<String, CodecSpec> CODECS = Map.of(
            "fp32", CodecSpec.of(CodecFormat.FP32),
            "fp16", CodecSpec.of(CodecFormat.FP16),
            "bf16", CodecSpec.of(CodecFormat.BF16),
            "int8_token", CodecSpec.activations(8),
            "int4_token", CodecSpec.activations(4),
            "int8_channel", CodecSpec.activations(8).withGranularity(io.guardedtuning.wire.ScaleGranularity.PER_CHANNEL),
            "int8_token_zstd", CodecSpec.activations(8).withCompression(PayloadCompression.ZSTD),
            "int4_token_lz4", CodecSpec.activations(4).withCompression(PayloadCompression.LZ4),
            "int8_grad_stochastic", CodecSpec.gradients(8).withStochasticRounding(1),
            "int8_grad_top1pct", CodecSpec.gradients(8).withTopK(1 << 13));
}
