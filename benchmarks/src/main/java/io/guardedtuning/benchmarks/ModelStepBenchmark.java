package io.guardedtuning.benchmarks;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import io.guardedtuning.engine.DjlRuntime;
import io.guardedtuning.model.OptConfig;
import io.guardedtuning.model.OptModel;
import io.guardedtuning.model.TokenBatch;
import io.guardedtuning.train.LmLoss;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Forward+backward step time and peak resident memory of an OPT shape with random weights on CPU. Run one shape
 * per JVM so the peak belongs to it:
 * {@code java -cp ... io.guardedtuning.benchmarks.ModelStepBenchmark opt-125m 8 128 3}.
 */
public final class ModelStepBenchmark {

    private ModelStepBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        DjlRuntime.configure();
        String shape = args.length > 0 ? args[0] : "opt-125m";
        int batch = args.length > 1 ? Integer.parseInt(args[1]) : 8;
        int tokens = args.length > 2 ? Integer.parseInt(args[2]) : 128;
        int steps = args.length > 3 ? Integer.parseInt(args[3]) : 3;
        OptConfig config = OptConfig.named(shape);
        long t0 = System.nanoTime();
        try (OptModel model = OptModel.randomNative(config, 1)) {
            model.setTrainable(model.parameters().keySet());
            double initSeconds = (System.nanoTime() - t0) / 1e9;
            SplittableRandom r = new SplittableRandom(2);
            List<int[]> seqs = new ArrayList<>();
            for (int i = 0; i < batch; i++) {
                seqs.add(r.ints(tokens, 3, config.vocabSize()).toArray());
            }
            List<Double> times = new ArrayList<>();
            for (int s = 0; s <= steps; s++) {
                long start = System.nanoTime();
                try (NDManager scope = DjlRuntime.newManager();
                     TokenBatch b = TokenBatch.of(scope, seqs, null, config.padTokenId());
                     GradientCollector gc = DjlRuntime.gradientCollector()) {
                    NDArray loss = LmLoss.mean(model.logits(b), b);
                    gc.backward(loss);
                    loss.getFloat();
                }
                for (NDArray p : model.parameters().values()) {
                    io.guardedtuning.train.AdamW.zeroGradients(List.of(p));
                }
                if (s > 0) {
                    times.add((System.nanoTime() - start) / 1e9);
                }
            }
            times.sort(Double::compare);
            System.out.printf(Locale.ROOT,
                    "shape=%s params=%,d batch=%dx%d steps=%d fwd+bwd median=%.3fs min=%.3fs peakRSS=%.2fGiB "
                            + "init=%.1fs threads=%s%n", shape, model.parameterCount(), batch, tokens, steps,
                    times.get(times.size() / 2), times.get(0), peakRssGiB(), initSeconds,
                    System.getProperty("ai.djl.pytorch.num_threads", "cores"));
        }
    }

    static double peakRssGiB() throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmHWM:")) {
                return Long.parseLong(line.replaceAll("\\D", "")) / 1024.0 / 1024.0;
            }
        }
        return Double.NaN;
    }
}
