package io.guardedtuning.benchmarks;

import io.guardedtuning.tensor.HostTensor;
import io.guardedtuning.wire.TensorCodec;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * Encode / decode time of each codec on an OPT-1.3B activation at the paper's batch: 8 × 512 tokens × 2048 = 32 MiB
 * fp32. {@link TensorCopyBenchmark} copies the same tensor in the same run, the yardstick of docs/wire-bench.json.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class CodecBenchmark {

    static final long[] SHAPE = {8, 512, 2048};

    @Param({"fp32", "fp16", "bf16", "int8_token", "int4_token", "int8_channel", "int8_token_zstd", "int4_token_lz4",
            "int8_grad_stochastic", "int8_grad_top1pct"})
    public String codec;

    private TensorCodec tensorCodec;
    private HostTensor activation;
    private byte[] payload;

    @Setup
    public void setUp() {
        tensorCodec = SyntheticActivations.CODECS.get(codec).newCodec();
        activation = SyntheticActivations.activation(SHAPE, 1);
        payload = tensorCodec.encode(activation);
    }

    @Benchmark
    public byte[] encode() {
        return tensorCodec.encode(activation);
    }

    @Benchmark
    public HostTensor decode() {
        return tensorCodec.decode(SHAPE, payload);
    }
}
