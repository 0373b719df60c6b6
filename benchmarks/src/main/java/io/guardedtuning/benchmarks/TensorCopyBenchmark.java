package io.guardedtuning.benchmarks;

import io.guardedtuning.tensor.HostTensor;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/** A plain copy of the codec benchmark's tensor into a fresh array: what "memory speed" means on this machine. */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class TensorCopyBenchmark {

    private HostTensor activation;

    @Setup
    public void setUp() {
        activation = SyntheticActivations.activation(CodecBenchmark.SHAPE, 1);
    }

    @Benchmark
    public float[] copy() {
        return activation.data().clone();
    }
}
