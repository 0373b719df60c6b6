package io.guardedtuning.benchmarks;

import io.guardedtuning.checkpoint.HfCheckpoint;
import io.guardedtuning.checkpoint.ModelCatalog;
import io.guardedtuning.checkpoint.ModelFiles;
import io.guardedtuning.data.McExample;
import io.guardedtuning.engine.DjlRuntime;
import io.guardedtuning.eval.McEncoder;
import io.guardedtuning.kafka.EmbeddedKafkaBroker;
import io.guardedtuning.messaging.Topics;
import io.guardedtuning.model.OptConfig;
import io.guardedtuning.model.OptModel;
import io.guardedtuning.model.Split;
import io.guardedtuning.session.AuditSink;
import io.guardedtuning.session.BackboneEndpoint;
import io.guardedtuning.session.ClientSession;
import io.guardedtuning.session.PlainKafkaTransport;
import io.guardedtuning.session.RemoteBackboneLink;
import io.guardedtuning.session.SessionKeys;
import io.guardedtuning.session.SessionSettings;
import io.guardedtuning.split.ActivationRegularizer;
import io.guardedtuning.split.BackboneServer;
import io.guardedtuning.split.ClientSplitTrainer;
import io.guardedtuning.split.Design;
import io.guardedtuning.tensor.HostTensor;
import io.guardedtuning.tokenizer.BpeTokenizer;
import io.guardedtuning.train.AdamW;
import io.guardedtuning.train.LearningRateSchedule;
import io.guardedtuning.train.TaskBatches;
import io.guardedtuning.wire.WireLimits;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Load: 1, 2, 4 and 8 concurrent Online sessions against one backbone replica, then against two replicas in the
 * server-compute group, on the embedded broker with the bundled gt-tiny-opt. Reports steps/s per session and in
 * total, peak memory of the (single) JVM, and fairness (slowest session's steps/s over the mean).
 *
 * <p>Everything shares one JVM: broker, replicas and clients, and PyTorch's one gradient recorder per process, so
 * two replicas here cannot compute at the same time (see docs/reliability.md for what the numbers mean).
 *
 * <p>Arguments: [steps per session, default 10] [max sessions, default 8].
 */
public final class LoadBenchmark {

    private static final WireLimits LIMITS = WireLimits.chunkedDefaults();
    private static final SessionKeys KEYS = new SessionKeys(new byte[32]);
    private static final int PARTITIONS = 4;
    private static final int BATCH = 4;

    private record Model(OptConfig config, Map<String, HostTensor> weights, McEncoder encoder) {
    }

    private record Row(int replicas, int sessions, double meanStepsPerSecond, double totalStepsPerSecond,
                       double fairness, long peakRssMiB, long peakHeapMiB) {
    }

    private LoadBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        DjlRuntime.configure();
        int steps = args.length > 0 ? Integer.parseInt(args[0]) : 10;
        int maxSessions = args.length > 1 ? Integer.parseInt(args[1]) : 8;
        Path dir = ModelCatalog.resolve("gt-tiny-opt");
        OptConfig config = HfCheckpoint.readConfig(dir);
        Model model = new Model(config, ModelFiles.load(dir).toTensors(n -> true),
                new McEncoder(BpeTokenizer.fromDirectory(dir), config.bosTokenId(), 48));
        List<Row> rows = new ArrayList<>();
        try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.inTemporaryDirectory().start()) {
            createTopics(broker);
            for (int replicas = 1; replicas <= 2; replicas++) {
                List<Replica> servers = new ArrayList<>();
                for (int r = 0; r < replicas; r++) {
                    servers.add(new Replica(broker, model, "load-replica-" + r));
                }
                for (int sessions = 1; sessions <= maxSessions; sessions *= 2) {
                    rows.add(measure(broker, model, replicas, sessions, steps));
                    System.out.println(format(rows.get(rows.size() - 1)));
                }
                for (Replica s : servers) {
                    s.close();
                }
            }
        }
        System.out.printf(Locale.ROOT, "%nmodel=gt-tiny-opt k=2 batch=%d steps/session=%d fp32 wire, cores=%d%n",
                BATCH, steps, Runtime.getRuntime().availableProcessors());
        System.out.println("| replicas | sessions | steps/s per session (mean) | steps/s total | fairness (min/mean) "
                + "| peak RSS MiB | peak heap MiB |");
        System.out.println("|---|---|---|---|---|---|---|");
        rows.forEach(r -> System.out.println(format(r)));
    }

    private static String format(Row r) {
        return String.format(Locale.ROOT, "| %d | %d | %.2f | %.2f | %.2f | %d | %d |", r.replicas(), r.sessions(),
                r.meanStepsPerSecond(), r.totalStepsPerSecond(), r.fairness(), r.peakRssMiB(), r.peakHeapMiB());
    }

    private static Row measure(EmbeddedKafkaBroker broker, Model model, int replicas, int sessions, int steps)
            throws Exception {
        MemorySampler memory = new MemorySampler();
        ExecutorService clients = Executors.newFixedThreadPool(sessions);
        long started = System.nanoTime();
        try {
            List<Future<ClientSession.Summary>> runs = new ArrayList<>();
            for (int i = 0; i < sessions; i++) {
                String id = "load-" + replicas + "-" + sessions + "-" + i + "-" + System.nanoTime() % 100_000;
                long seed = i;
                runs.add(clients.submit(() -> runClient(broker, model, id, steps, seed)));
            }
            double[] rates = new double[sessions];
            for (int i = 0; i < sessions; i++) {
                ClientSession.Summary s = runs.get(i).get();
                rates[i] = s.steps() * 1000.0 / s.wallMillis();
            }
            double seconds = (System.nanoTime() - started) / 1e9;
            double mean = java.util.Arrays.stream(rates).average().orElseThrow();
            double min = java.util.Arrays.stream(rates).min().orElseThrow();
            return new Row(replicas, sessions, mean, (double) sessions * steps / seconds, min / mean,
                    memory.peakRss() >> 20, memory.peakHeap() >> 20);
        } finally {
            clients.shutdownNow();
            memory.close();
        }
    }

    private static ClientSession.Summary runClient(EmbeddedKafkaBroker broker, Model model, String session,
                                                   int steps, long seed) throws Exception {
        SessionSettings s = new SessionSettings(session, Design.ONLINE, 2, 0f, 32, 32, 32, 32, BATCH, 1e-3f, 1, seed,
                0, 0, steps);
        Split split = s.split(model.config());
        broker.createTopics(LIMITS.topicConfig(), Topics.sessionDown(session));
        try (KafkaProducer<String, byte[]> producer = PlainKafkaTransport.producer(broker.bootstrapServers(), LIMITS);
             OptModel client = OptModel.fromTensors(model.config(), HostTensor.select(model.weights(), split.client()));
             ClientSplitTrainer trainer = new ClientSplitTrainer(client, split, s.design(), AdamW.Settings.defaults(),
                     LearningRateSchedule.constant(s.learningRate()), ActivationRegularizer.NONE, false)) {
            RemoteBackboneLink link = new RemoteBackboneLink(KEYS.forSession(session), "client-" + session, LIMITS,
                    new RemoteBackboneLink.Settings(32, 32, 32, 32, Duration.ofSeconds(60), 3),
                    records -> records.forEach(producer::send), Clock.systemUTC());
            try (PlainKafkaTransport.PollLoop down = PlainKafkaTransport.listen(broker.bootstrapServers(), LIMITS,
                    link)) {
                link.start(System.currentTimeMillis());
                TaskBatches batches = new TaskBatches(task(), model.encoder(), BATCH, seed);
                return ClientSession.train(s, trainer, batches, link, null, AuditSink.NONE, step -> { });
            }
        }
    }

    /** A short hand-made two-choice task: enough distinct batches for the steps, nothing to download. */
    private static List<McExample> task() {
        String[] subjects = {"The sun", "A storm", "The river", "Our team", "The market", "A letter", "The train",
                "My garden"};
        List<McExample> out = new ArrayList<>();
        for (int i = 0; i < 64; i++) {
            boolean good = i % 2 == 0;
            out.add(new McExample("ex" + i, subjects[i % subjects.length] + (good ? " brought joy on day " :
                    " brought ruin on day ") + i + ". It was", List.of(" bad", " good"), good ? 1 : 0));
        }
        return out;
    }

    private static void createTopics(EmbeddedKafkaBroker broker) throws Exception {
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", broker.bootstrapServers()))) {
            admin.createTopics(List.of(
                    new NewTopic(Topics.ACTIVATIONS_UP, PARTITIONS, (short) 1).configs(LIMITS.topicConfig()),
                    new NewTopic(Topics.GRADIENTS_UP, PARTITIONS, (short) 1).configs(LIMITS.topicConfig()),
                    new NewTopic(Topics.DEAD_LETTER, 1, (short) 1).configs(LIMITS.topicConfig()))).all().get();
        }
    }

    /** One backbone replica: its own copy of the trunk, endpoint, producer and poll loop. */
    private static final class Replica implements AutoCloseable {
        private final OptModel trunk;
        private final KafkaProducer<String, byte[]> producer;
        private final PlainKafkaTransport.PollLoop loop;

        Replica(EmbeddedKafkaBroker broker, Model model, String name) {
            Split split = Split.of(2, model.config());
            trunk = OptModel.fromTensors(model.config(), HostTensor.select(model.weights(), split.backbone()));
            producer = PlainKafkaTransport.producer(broker.bootstrapServers(), LIMITS);
            BackboneEndpoint endpoint = new BackboneEndpoint(new BackboneServer(trunk, split, 64), KEYS, LIMITS, name,
                    Clock.systemUTC());
            loop = PlainKafkaTransport.serve(broker.bootstrapServers(), LIMITS, name,
                    r -> endpoint.handle(r).forEach(producer::send), producer);
        }

        @Override
        public void close() throws InterruptedException {
            loop.close();
            producer.close();
            trunk.close();
        }
    }

    /** Peak resident set (VmRSS) and used heap of this JVM, sampled every 100 ms. */
    private static final class MemorySampler implements AutoCloseable {
        private final AtomicLong peakRss = new AtomicLong();
        private final AtomicLong peakHeap = new AtomicLong();
        private final Thread thread;
        private volatile boolean running = true;

        MemorySampler() {
            thread = new Thread(() -> {
                while (running) {
                    sample();
                    try {
                        Thread.sleep(100);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }, "memory-sampler");
            thread.setDaemon(true);
            thread.start();
        }

        private void sample() {
            Runtime rt = Runtime.getRuntime();
            peakHeap.accumulateAndGet(rt.totalMemory() - rt.freeMemory(), Math::max);
            peakRss.accumulateAndGet(vmRssBytes(), Math::max);
        }

        private static long vmRssBytes() {
            try {
                for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                    if (line.startsWith("VmRSS:")) {
                        return Long.parseLong(line.replaceAll("\\D", "")) * 1024;
                    }
                }
            } catch (IOException | NumberFormatException e) {
                return 0; // not Linux: report 0 rather than fail the benchmark
            }
            return 0;
        }

        long peakRss() {
            return peakRss.get();
        }

        long peakHeap() {
            return peakHeap.get();
        }

        @Override
        public void close() throws InterruptedException {
            sample();
            running = false;
            thread.join();
        }
    }
}
