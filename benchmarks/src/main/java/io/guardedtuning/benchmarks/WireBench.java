package io.guardedtuning.benchmarks;

import io.guardedtuning.split.MicroBatches;
import io.guardedtuning.wire.WireLimits;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Arrays;
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
 * Issue 16's figures in docs/wire-bench.json: the codec ratios (JMH, {@link CodecBenchmark} and
 * {@link TensorCopyBenchmark}: copy time / codec time, i.e. a codec's throughput as a fraction of a plain copy of
 * the same 32 MiB tensor), the 32 MiB event against Kafka's perf tools ({@link EventThroughputBenchmark}) and the
 * split step over Kafka against in-process, fp32 Online and Gradfree ({@link SplitDesignBenchmark}), on the bundled
 * model and on the OPT-125m shape with random weights, with each step cut into {@code micro} micro-batches (0, the
 * default, is the clients' default: auto by the size of h_in) and, beside it in the same run, unpipelined. A figure
 * this run does not measure is written as null. Each bundled ratio is the median of {@code rounds} Kafka and
 * in-process runs paired back to back; the OPT-125m shape's runs take minutes each, so it runs one round.
 *
 * <pre>
 * java -cp "$CP" io.guardedtuning.benchmarks.WireBench [out=docs/wire-bench.json] [machine]
 *      [codecs=measure|keep] [event=measure|keep] [repeats=7] [events=4] [timed=20] [rounds=3]
 *      [opt125m=4|keep] [micro=0]
 * </pre>
 * {@code codecs=keep} copies the codec entries of the existing {@code out} instead of re-running JMH (~15 min);
 * {@code event=keep} its event-vs-Kafka figure;
 * {@code opt125m} is the OPT-125m shape's timed steps per design (0 leaves it out: ~20 s a step on 2 cores; keep
 * copies its ratios from the existing {@code out}). Gradfree on the bundled model is also run without sending
 * ahead, to show what sending ahead saves, and in-process with the backbone on a thread of its own
 * ({@code backboneOnOwnThreadOverInProcess}, no wire): what two threads taking turns at PyTorch cost on these cores.
 */
public final class WireBench {

    private static final String ONLINE = "online:0:32:32";
    private static final String GRADFREE = "gradfree:0:32:32";

    private WireBench() {
    }

    public static void main(String[] args) throws Exception {
        Path out = Path.of(args.length > 0 ? args[0] : "docs/wire-bench.json");
        String machine = args.length > 1 ? args[1] : System.getProperty("os.arch") + ", "
                + Runtime.getRuntime().availableProcessors() + " cores";
        SplitBench.Options o = SplitBench.Options.parse(Arrays.copyOfRange(args, Math.min(2, args.length),
                args.length));
        String codecs = o.text("codecs", "measure").equals("keep") ? keptCodecs(Files.readString(out))
                : measuredCodecs();
        double eventVsKafkaPerf = o.text("event", "measure").equals("keep") ? keptNumber(Files.readString(out),
                "eventVsKafkaPerf") : EventThroughputBenchmark.run(WireLimits.chunkedDefaults(),
                o.integer("repeats", 7), o.integer("events", 4)).eventVsKafkaPerf();
        int timed = o.integer("timed", 20);
        int rounds = o.integer("rounds", 3);
        int micro = o.integer("micro", MicroBatches.AUTO);
        SplitBench bundledBench = SplitBench.load(SplitBench.Options.parse(new String[] {"test=8"}), 192);
        // Unmeasured: the first split run in a JVM pays for JIT and Kafka warm-up (2x on the bundled model).
        splitRatios(bundledBench, 5, 1, 1);
        double[] bundled = splitRatios(bundledBench, timed, micro, rounds);
        double[] bundledWhole = splitRatios(bundledBench, timed, 1, rounds);
        // What sending ahead saves here, where the client, the broker and the backbone share the same cores.
        double gradfreeNotAhead = SplitDesignBenchmark.kafkaOverInProcess(bundledBench, GRADFREE, 8, 3e-3f, timed,
                micro, false, rounds);
        // What two threads taking turns at PyTorch cost here without any wire (the server's poll loop is a thread
        // of its own): the part of the Kafka run's extra time that co-locating both parties on these cores adds.
        double[] ownThread = {
            SplitDesignBenchmark.ownThreadOverInProcess(bundledBench, ONLINE, 8, 3e-3f, timed, rounds),
            SplitDesignBenchmark.ownThreadOverInProcess(bundledBench, GRADFREE, 8, 3e-3f, timed, rounds)};
        boolean keepOpt125m = o.text("opt125m", "4").equals("keep");
        int opt125mTimed = keepOpt125m ? 0 : o.integer("opt125m", 4);
        double[] opt125m = {Double.NaN, Double.NaN};
        double[] opt125mWhole = {Double.NaN, Double.NaN};
        if (keepOpt125m) {
            double[] kept = keptOpt125m(Files.readString(out));
            opt125m = new double[] {kept[0], kept[1]};
            opt125mWhole = new double[] {kept[2], kept[3]};
        } else if (opt125mTimed > 0) {
            SplitBench shape = SplitBench.load(SplitBench.Options.parse(new String[] {"shape=opt-125m", "test=2"}),
                    128);
            opt125m = splitRatios(shape, opt125mTimed, micro, 1);
            opt125mWhole = splitRatios(shape, opt125mTimed, 1, 1);
        }
        String json = "{\n  \"date\": \"" + Instant.now() + "\",\n  \"machine\": \"" + machine + "\",\n" + codecs
                + "  \"eventVsKafkaPerf\": " + fmt(eventVsKafkaPerf) + ",\n"
                + "  \"microBatches\": \"" + (micro == MicroBatches.AUTO ? "auto" : micro) + "\",\n"
                + "  \"onlineOverInProcess\": {\"bundled\": " + fmt(bundled[0]) + ", \"opt125m\": " + fmt(opt125m[0])
                + "},\n"
                + "  \"gradfreeOverInProcess\": {\"bundled\": " + fmt(bundled[1]) + ", \"opt125m\": "
                + fmt(opt125m[1]) + "},\n"
                + "  \"gradfreeNotSendingAhead\": {\"bundled\": " + fmt(gradfreeNotAhead) + "},\n"
                + "  \"unpipelined\": {\"onlineOverInProcess\": {\"bundled\": " + fmt(bundledWhole[0])
                + ", \"opt125m\": " + fmt(opt125mWhole[0]) + "}, \"gradfreeOverInProcess\": {\"bundled\": "
                + fmt(bundledWhole[1]) + ", \"opt125m\": " + fmt(opt125mWhole[1]) + "}},\n"
                + "  \"backboneOnOwnThreadOverInProcess\": {\"online\": {\"bundled\": " + fmt(ownThread[0])
                + "}, \"gradfree\": {\"bundled\": " + fmt(ownThread[1]) + "}}\n}\n";
        Files.writeString(out, json);
        System.out.print(json);
    }

    /**
     * fp32 Online's and Gradfree's Kafka / in-process step ratios (medians over rounds), batch 8, k = 2, steps in
     * micro-batches.
     */
    private static double[] splitRatios(SplitBench bench, int timed, int microBatches, int rounds) throws Exception {
        return new double[] {
            SplitDesignBenchmark.kafkaOverInProcess(bench, ONLINE, 8, 3e-3f, timed, microBatches, true, rounds),
            SplitDesignBenchmark.kafkaOverInProcess(bench, GRADFREE, 8, 3e-3f, timed, microBatches, true, rounds)};
    }

    /**
     * The OPT-125m ratios of the existing file: Online and Gradfree, pipelined then unpipelined (the order this class
     * writes them in).
     */
    private static double[] keptOpt125m(String json) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"opt125m\": ([0-9.]+|null)").matcher(json);
        double[] kept = new double[4];
        for (int i = 0; i < kept.length; i++) {
            if (!m.find()) {
                throw new IllegalArgumentException("the existing file has fewer than 4 OPT-125m ratios to keep");
            }
            kept[i] = m.group(1).equals("null") ? Double.NaN : Double.parseDouble(m.group(1));
        }
        return kept;
    }

    /** A top-level number of the existing file, for the parts a run keeps instead of measuring. */
    private static double keptNumber(String json, String field) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"" + field + "\":\\s*([0-9.]+)").matcher(json);
        if (!m.find()) {
            throw new IllegalArgumentException("no " + field + " in the existing file to keep");
        }
        return Double.parseDouble(m.group(1));
    }

    /** The copyMs and codecs entries, each line ending with a comma. */
    private static String measuredCodecs() throws RunnerException {
        Options options = new OptionsBuilder()
                .include(CodecBenchmark.class.getSimpleName())
                .include(TensorCopyBenchmark.class.getSimpleName())
                .forks(1).warmupIterations(2).warmupTime(TimeValue.seconds(2))
                .measurementIterations(4).measurementTime(TimeValue.seconds(2))
                .jvmArgs("-Xms6g", "-Xmx6g", "-XX:+AlwaysPreTouch", "--add-modules", "jdk.incubator.vector")
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
        StringBuilder json = new StringBuilder("  \"copyMs\": " + fmt(copyMs) + ",\n  \"codecs\": [\n");
        int i = 0;
        for (Map.Entry<String, double[]> e : codecMs.entrySet()) {
            json.append("    {\"name\": \"").append(e.getKey()).append("\", \"encodeVsCopy\": ")
                    .append(fmt(copyMs / e.getValue()[0])).append(", \"decodeVsCopy\": ")
                    .append(fmt(copyMs / e.getValue()[1])).append(", \"encodeMs\": ").append(fmt(e.getValue()[0]))
                    .append(", \"decodeMs\": ").append(fmt(e.getValue()[1]))
                    .append(++i < codecMs.size() ? "},\n" : "}\n");
        }
        return json.append("  ],\n").toString();
    }

    /** The same entries as an earlier run of this class wrote them (and its date says when they were measured). */
    private static String keptCodecs(String previous) {
        int from = previous.indexOf("  \"copyMs\"");
        int to = previous.indexOf("  ],\n", from);
        if (from < 0 || to < 0) {
            throw new IllegalArgumentException("no codec entries to keep in the existing file");
        }
        return previous.substring(from, to) + "  ],\n";
    }

    /** NaN (not measured) as JSON null. */
    private static String fmt(double v) {
        return Double.isNaN(v) ? "null" : String.format(Locale.ROOT, "%.3f", v);
    }
}
