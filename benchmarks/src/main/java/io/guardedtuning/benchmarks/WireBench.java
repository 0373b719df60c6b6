package io.guardedtuning.benchmarks;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Collection;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * Runs {@link CodecBenchmark} and {@link TensorCopyBenchmark} in one JMH run and writes the ratios to
 * docs/wire-bench.json (argument: the output path). A ratio is copy time / codec time, i.e. the codec's
 * throughput as a fraction of a plain copy of the same 32 MiB tensor. The Kafka and split-step ratios of issue 16
 * are not measured by this run yet: they are written as null.
 */
public final class WireBench {

    private WireBench() {
    }

    public static void main(String[] args) throws RunnerException, IOException {
        Path out = Path.of(args.length > 0 ? args[0] : "docs/wire-bench.json");
        String machine = args.length > 1 ? args[1] : System.getProperty("os.arch") + ", "
                + Runtime.getRuntime().availableProcessors() + " cores";
        Options options = new OptionsBuilder()
                .include(CodecBenchmark.class.getSimpleName())
                .include(TensorCopyBenchmark.class.getSimpleName())
                .forks(1).warmupIterations(2).warmupTime(TimeValue.seconds(2))
                .measurementIterations(4).measurementTime(TimeValue.seconds(2))
                .jvmArgs("-Xms6g", "-Xmx6g", "-XX:+AlwaysPreTouch")
                .build();
        Collection<RunResult> results = new Runner(options).run();
        double copyMs = Double.NaN;
        Map<String, double[]> codecMs = new TreeMap<>();
        for (RunResult r : results) {
            String method = r.getParams().getBenchmark();
            double ms = r.getPrimaryResult().getScore();
            if (method.endsWith(".copy")) {
                copyMs = ms;
            } else {
                double[] pair = codecMs.computeIfAbsent(r.getParams().getParam("codec"), c -> new double[2]);
                pair[method.endsWith(".encode") ? 0 : 1] = ms;
            }
        }
        StringBuilder json = new StringBuilder("{\n  \"date\": \"" + Instant.now() + "\",\n  \"machine\": \""
                + machine + "\",\n  \"copyMs\": " + fmt(copyMs) + ",\n  \"codecs\": [\n");
        int i = 0;
        for (Map.Entry<String, double[]> e : codecMs.entrySet()) {
            json.append("    {\"name\": \"").append(e.getKey()).append("\", \"encodeVsCopy\": ")
                    .append(fmt(copyMs / e.getValue()[0])).append(", \"decodeVsCopy\": ")
                    .append(fmt(copyMs / e.getValue()[1])).append(", \"encodeMs\": ").append(fmt(e.getValue()[0]))
                    .append(", \"decodeMs\": ").append(fmt(e.getValue()[1]))
                    .append(++i < codecMs.size() ? "},\n" : "}\n");
        }
        json.append("  ],\n  \"eventVsKafkaPerf\": null,\n")
                .append("  \"onlineOverInProcess\": {\"bundled\": null, \"opt125m\": null},\n")
                .append("  \"gradfreeOverInProcess\": {\"bundled\": null, \"opt125m\": null}\n}\n");
        Files.writeString(out, json);
        System.out.print(json);
    }

    private static String fmt(double v) {
        return String.format(Locale.ROOT, "%.3f", v);
    }
}
