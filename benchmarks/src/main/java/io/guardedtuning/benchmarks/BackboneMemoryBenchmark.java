package io.guardedtuning.benchmarks;

import io.guardedtuning.engine.DjlRuntime;
import io.guardedtuning.model.OptConfig;
import io.guardedtuning.model.OptModel;
import io.guardedtuning.model.Split;
import io.guardedtuning.split.BackboneServer;
import io.guardedtuning.tensor.HostTensor;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryUsage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * server-compute's memory for an OPT shape on CPU: the backbone (layers [k, L-k)) with random weights, loaded the
 * way the service loads a checkpoint (host tensors, then engine arrays), then one Online step of B × T tokens held
 * for its backward and run backward to dL/dh_in, then one Gradfree forward, all through {@link BackboneServer}.
 * Each phase reports the resident set when it ends and its own peak: the peak is reset (Linux
 * {@code /proc/self/clear_refs}) after the load has settled. One shape per JVM:
 * {@code java -Xmx8g -cp ... io.guardedtuning.benchmarks.BackboneMemoryBenchmark opt-1.3b 2 8 128}.
 */
public final class BackboneMemoryBenchmark {

    private BackboneMemoryBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 4) {
            throw new IllegalArgumentException("usage: BackboneMemoryBenchmark SHAPE K BATCH TOKENS");
        }
        DjlRuntime.configure();
        OptConfig config = OptConfig.named(args[0]);
        Split split = Split.of(Integer.parseInt(args[1]), config);
        int batch = Integer.parseInt(args[2]);
        int tokens = Integer.parseInt(args[3]);

        long t0 = System.nanoTime();
        OptModel backbone = OptModel.fromTensors(config, OptModel.randomTensors(config, 1, split.backbone()));
        double loadSeconds = seconds(t0);
        settle();
        MemoryUsage heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
        report("loaded", String.format(Locale.ROOT, "params=%,d layers=%d load=%.1fs heapUsed=%.2fGiB "
                        + "heapCommitted=%.2fGiB", backbone.parameterCount(), split.trunkLayers(), loadSeconds,
                gib(heap.getUsed()), gib(heap.getCommitted())));

        try (backbone; BackboneServer server = new BackboneServer(backbone, split, 8)) {
            HostTensor hIn = noise(new long[] {batch, tokens, config.hiddenSize()}, 2);
            long[] lengths = new long[batch];
            Arrays.fill(lengths, tokens);

            resetPeak();
            long t = System.nanoTime();
            server.forward("bench", 0, hIn, lengths, true);
            report("online forward held", String.format(Locale.ROOT, "%dx%d in %.1fs", batch, tokens, seconds(t)));
            t = System.nanoTime();
            server.backward("bench", 0, noise(hIn.shape(), 3));
            report("online backward done", String.format(Locale.ROOT, "in %.1fs", seconds(t)));
            settle();
            report("settled", "");
            resetPeak();
            t = System.nanoTime();
            server.forward("bench", 1, hIn, lengths, false);
            report("gradfree forward done", String.format(Locale.ROOT, "in %.1fs", seconds(t)));
        }
    }

    /** Lets the garbage of the load go: Java arrays and the direct buffers they were copied through. */
    private static void settle() throws InterruptedException {
        for (int i = 0; i < 2; i++) {
            System.gc();
            Thread.sleep(1000);
        }
    }

    /** Sets this process's peak resident set (VmHWM) back to its current resident set. */
    private static void resetPeak() throws Exception {
        Files.writeString(Path.of("/proc/self/clear_refs"), "5");
    }

    private static HostTensor noise(long[] shape, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        float[] data = new float[Math.toIntExact(HostTensor.numel(shape))];
        for (int i = 0; i < data.length; i++) {
            data[i] = (float) (random.nextDouble() * 2 - 1);
        }
        return new HostTensor(shape, data);
    }

    /** Current (VmRSS) and peak (VmHWM) resident memory of this process. */
    private static void report(String phase, String detail) throws Exception {
        double rss = Double.NaN;
        double peak = Double.NaN;
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                rss = Long.parseLong(line.replaceAll("\\D", "")) / 1024.0 / 1024.0;
            } else if (line.startsWith("VmHWM:")) {
                peak = Long.parseLong(line.replaceAll("\\D", "")) / 1024.0 / 1024.0;
            }
        }
        System.out.printf(Locale.ROOT, "%-22s rss=%.2fGiB peak=%.2fGiB %s%n", phase, rss, peak, detail);
    }

    private static double seconds(long startNanos) {
        return (System.nanoTime() - startNanos) / 1e9;
    }

    private static double gib(long bytes) {
        return bytes / 1024.0 / 1024.0 / 1024.0;
    }
}
