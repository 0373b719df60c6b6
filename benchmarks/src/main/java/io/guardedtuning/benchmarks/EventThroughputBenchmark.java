package io.guardedtuning.benchmarks;

import io.guardedtuning.kafka.EmbeddedKafkaBroker;
import io.guardedtuning.session.PlainKafkaTransport;
import io.guardedtuning.storage.AtomicFiles;
import io.guardedtuning.tensor.HostTensor;
import io.guardedtuning.wire.CodecSpec;
import io.guardedtuning.wire.EventKind;
import io.guardedtuning.wire.SessionKey;
import io.guardedtuning.wire.TensorEventVerifier;
import io.guardedtuning.wire.TensorEventWriter;
import io.guardedtuning.wire.Verdict;
import io.guardedtuning.wire.WireLimits;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.tools.ConsumerPerformance;
import org.apache.kafka.tools.ProducerPerformance;

/**
 * Issue 16's transport goal on one embedded broker: a 32 MiB tensor event end to end (encode, sign, produce the
 * chunks, consume, verify, reassemble, decode) against Kafka's own {@code ProducerPerformance} and
 * {@code ConsumerPerformance} moving records of the wire's chunk size, 32 MiB per event, with the wire's producer
 * and consumer settings. The tools run one after the other, so their end-to-end rate is the two rates in series
 * (time to produce the bytes plus time to consume them); the event's consumer polls while its chunks are produced,
 * as a session's does. Throughputs are MiB (2^20 bytes) per second, as the tools print them; an event's MiB are its
 * fp32 tensor's, whatever its codec sends. Each repetition runs the tools and then the events; medians over the
 * repetitions after a first, discarded one.
 *
 * <pre>
 * java -cp "$CP" io.guardedtuning.benchmarks.EventThroughputBenchmark [repeats=7] [events=4]
 * </pre>
 */
public final class EventThroughputBenchmark {

    /** OPT-1.3B's activation at the paper's batch, 8 × 512 × 2048 fp32: 32 MiB. */
    private static final long[] SHAPE = CodecBenchmark.SHAPE;
    private static final double EVENT_MIB = HostTensor.numel(SHAPE) * Float.BYTES / (double) (1 << 20);
    private static final Pattern PRODUCER_TOTAL =
            Pattern.compile("records sent, [\\d.]+ records/sec \\(([\\d.]+) MB/sec\\)");
    /** ConsumerPerformance's columns; fetch.MB.sec leaves out the group join, which a session pays once. */
    private static final int FETCH_MB_SEC_COLUMN = 8;

    /** Medians of one run, MiB/s. */
    public record Result(double perfProducer, double perfConsumer, double fp32Event, double int8Event) {

        /** Kafka's tools producing and then consuming the same bytes. */
        public double perfInSeries() {
            return 1 / (1 / perfProducer + 1 / perfConsumer);
        }

        public double eventVsKafkaPerf() {
            return fp32Event / perfInSeries();
        }
    }

    private EventThroughputBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        SplitBench.Options o = SplitBench.Options.parse(args);
        run(WireLimits.chunkedDefaults(), o.integer("repeats", 7), o.integer("events", 4));
    }

    /** Repetitions of: the tools on {@code events} × 32 MiB of chunks, then {@code events} events of each codec. */
    public static Result run(WireLimits limits, int repeats, int events) throws Exception {
        int chunksPerEvent = Math.toIntExact(
                (HostTensor.numel(SHAPE) * Float.BYTES + limits.maxChunkBytes() - 1) / limits.maxChunkBytes());
        HostTensor tensor = SyntheticActivations.activation(SHAPE, 1);
        List<Double> producer = new ArrayList<>();
        List<Double> consumer = new ArrayList<>();
        List<Double> fp32 = new ArrayList<>();
        List<Double> int8 = new ArrayList<>();
        EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.inTemporaryDirectory().start();
        try (broker;
             EventPath fp32Path = new EventPath(broker, limits, "fp32", SyntheticActivations.CODECS.get("fp32"));
             EventPath int8Path = new EventPath(broker, limits, "int8",
                     SyntheticActivations.CODECS.get("int8_token"))) {
            for (int rep = 0; rep <= repeats; rep++) {
                String topic = "perf-" + rep;
                broker.createTopics(limits.topicConfig(), topic);
                long records = (long) events * chunksPerEvent;
                double producerMiBps = producerPerformance(broker, limits, topic, records);
                double consumerMiBps = consumerPerformance(broker, limits, topic, records);
                double[] fp32MiBps = new double[events];
                double[] int8MiBps = new double[events];
                for (int e = 0; e < events; e++) {
                    fp32MiBps[e] = EVENT_MIB / fp32Path.seconds(tensor);
                    int8MiBps[e] = EVENT_MIB / int8Path.seconds(tensor);
                }
                System.out.printf(Locale.ROOT, "%s: producer %.1f, consumer %.1f, fp32 %s, int8 %s MiB/s%n",
                        rep == 0 ? "warm-up" : "rep " + rep, producerMiBps, consumerMiBps, fmt(fp32MiBps),
                        fmt(int8MiBps));
                if (rep > 0) { // the first repetition warms the JIT, the broker and the clients
                    producer.add(producerMiBps);
                    consumer.add(consumerMiBps);
                    Arrays.stream(fp32MiBps).forEach(fp32::add);
                    Arrays.stream(int8MiBps).forEach(int8::add);
                }
            }
        } finally {
            AtomicFiles.deleteRecursively(broker.dataDir()); // the topics hold ~1 GB per run
        }
        Result r = new Result(median(producer), median(consumer), median(fp32), median(int8));
        System.out.printf(Locale.ROOT, "MiB/s (median): ProducerPerformance %.1f, ConsumerPerformance %.1f, "
                        + "tools in series %.1f; fp32 event %.1f, int8-per-token event %.1f (fp32 MiB); "
                        + "fp32 event / tools %.3f%n", r.perfProducer(), r.perfConsumer(), r.perfInSeries(),
                r.fp32Event(), r.int8Event(), r.eventVsKafkaPerf());
        return r;
    }

    /**
     * One session's sending and receiving side on its own topic: a producer, and a consumer polling on its own
     * thread that verifies, reassembles and decodes each chunk as it arrives.
     */
    private static final class EventPath implements AutoCloseable {
        private final String topic;
        private final CodecSpec codec;
        private final TensorEventWriter writer;
        private final KafkaProducer<String, byte[]> producer;
        private final PlainKafkaTransport.PollLoop loop;
        private final AtomicReference<CompletableFuture<HostTensor>> decoded = new AtomicReference<>();
        private long step;

        EventPath(EmbeddedKafkaBroker broker, WireLimits limits, String name, CodecSpec codec) {
            this.topic = "event-" + name;
            this.codec = codec;
            SessionKey session = SessionKey.random("bench-" + name);
            writer = new TensorEventWriter("bench", session, limits);
            TensorEventVerifier verifier = new TensorEventVerifier(session, EnumSet.of(EventKind.ACTIVATION_UP),
                    limits, Clock.systemUTC());
            broker.createTopics(limits.topicConfig(), topic);
            producer = PlainKafkaTransport.producer(broker.bootstrapServers(), limits);
            loop = new PlainKafkaTransport.PollLoop("event-" + name, PlainKafkaTransport.consumer(
                    broker.bootstrapServers(), limits, "bench-" + name, "latest"), List.of(topic), record -> {
                        Verdict verdict = verifier.verify(record);
                        if (verdict instanceof Verdict.Accepted accepted) {
                            decoded.get().complete(accepted.tensor().orElseThrow());
                        } else if (verdict instanceof Verdict.Rejected rejected) {
                            decoded.get().completeExceptionally(new IllegalStateException(rejected.toString()));
                        }
                    }, () -> { });
        }

        /** Seconds from encoding {@code tensor} to holding it decoded on the consumer's side. */
        double seconds(HostTensor tensor) throws Exception {
            CompletableFuture<HostTensor> received = new CompletableFuture<>();
            decoded.set(received);
            long start = System.nanoTime();
            for (ProducerRecord<String, byte[]> r : writer.records(topic,
                    writer.tensorEvent(EventKind.ACTIVATION_UP, ++step, 0, tensor, codec))) {
                producer.send(r);
            }
            HostTensor back = received.get(120, TimeUnit.SECONDS);
            double seconds = (System.nanoTime() - start) / 1e9;
            if (!Arrays.equals(back.shape(), tensor.shape())) {
                throw new IllegalStateException(topic + ": decoded shape " + Arrays.toString(back.shape()));
            }
            return seconds;
        }

        @Override
        public void close() throws InterruptedException {
            loop.close();
            producer.close();
        }
    }

    private static double producerPerformance(EmbeddedKafkaBroker broker, WireLimits limits, String topic,
                                              long records) throws Exception {
        List<String> args = new ArrayList<>(List.of("--topic", topic, "--num-records", Long.toString(records),
                "--throughput", "-1", "--record-size", Integer.toString(limits.maxChunkBytes()), "--producer-props",
                "bootstrap.servers=" + broker.bootstrapServers()));
        limits.producerProperties().forEach((k, v) -> args.add(k + "=" + v));
        String out = capturingStdout(() -> ProducerPerformance.main(args.toArray(String[]::new)));
        Matcher total = PRODUCER_TOTAL.matcher(out);
        double mibPerSecond = Double.NaN;
        while (total.find()) {
            mibPerSecond = Double.parseDouble(total.group(1)); // the last line is the total
        }
        if (Double.isNaN(mibPerSecond)) {
            throw new IllegalStateException("no total in ProducerPerformance's output:\n" + out);
        }
        return mibPerSecond;
    }

    /** The wire's consumer settings; the tool sets the fetch and socket sizes from its own flags, so they go there. */
    private static double consumerPerformance(EmbeddedKafkaBroker broker, WireLimits limits, String topic,
                                              long records) throws Exception {
        Map<String, Object> settings = limits.consumerProperties();
        Properties config = new Properties();
        settings.forEach((k, v) -> config.setProperty(k, v.toString()));
        Path file = Files.createTempFile("consumer-perf-", ".properties");
        try (OutputStream out = Files.newOutputStream(file)) {
            config.store(out, "the wire's consumer settings");
        }
        String out = capturingStdout(() -> ConsumerPerformance.main(new String[] {"--bootstrap-server",
                broker.bootstrapServers(), "--topic", topic, "--messages", Long.toString(records), "--group",
                "perf-" + topic, "--consumer.config", file.toString(), "--fetch-size",
                settings.get("max.partition.fetch.bytes").toString(), "--socket-buffer-size",
                settings.getOrDefault("receive.buffer.bytes", 64 * 1024).toString(), "--hide-header"}));
        Files.delete(file);
        String[] lines = out.strip().split("\n");
        String[] columns = lines[lines.length - 1].split(",\\s*");
        if (columns.length <= FETCH_MB_SEC_COLUMN || Long.parseLong(columns[4].trim()) < records) {
            throw new IllegalStateException("ConsumerPerformance read too little:\n" + out);
        }
        return Double.parseDouble(columns[FETCH_MB_SEC_COLUMN].trim());
    }

    private interface Tool {
        void run() throws Exception;
    }

    /** The tools print their results; nothing else in this JVM writes to stdout meanwhile. */
    private static String capturingStdout(Tool tool) throws Exception {
        PrintStream stdout = System.out;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            tool.run();
        } finally {
            System.setOut(stdout);
        }
        return captured.toString(StandardCharsets.UTF_8);
    }

    private static String fmt(double[] values) {
        return Arrays.stream(values).mapToObj(v -> String.format(Locale.ROOT, "%.1f", v)).toList().toString();
    }

    private static double median(List<Double> values) {
        double[] sorted = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        int mid = sorted.length / 2;
        return sorted.length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }
}
