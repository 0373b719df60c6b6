package io.guardedtuning.benchmarks;

import io.guardedtuning.tensor.HostTensor;
import io.guardedtuning.wire.CodecSpec;
import io.guardedtuning.wire.ReconstructionError;
import io.guardedtuning.wire.TensorCodec;
import java.util.Map;
import java.util.TreeMap;

/** Prints bytes on the wire relative to fp32 and the reconstruction error of each codec on the benchmark activation. */
public final class WireSizeReport {

    private WireSizeReport() {
    }

    public static void main(String[] args) {
        HostTensor activation = SyntheticActivations.activation(CodecBenchmark.SHAPE, 1);
        long fp32Bytes = 4L * activation.data().length;
        System.out.println("| codec | bytes | vs fp32 | max abs error | RMS error |");
        System.out.println("|---|---:|---:|---:|---:|");
        for (Map.Entry<String, CodecSpec> e : new TreeMap<>(SyntheticActivations.CODECS).entrySet()) {
            TensorCodec codec = e.getValue().newCodec();
            byte[] payload = codec.encode(activation);
            ReconstructionError error = ReconstructionError.between(activation,
                    codec.decode(activation.shape(), payload));
            System.out.printf("| %s | %d | %.4f | %.3g | %.3g |%n", e.getKey(), payload.length,
                    payload.length / (double) fp32Bytes, error.maxAbs(), error.rms());
        }
    }
}
