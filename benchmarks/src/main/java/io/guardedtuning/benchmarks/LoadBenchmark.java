package io.guardedtuning.benchmarks;

import io.guardedtuning.attack.KnownDefence;
import io.guardedtuning.session.SplitProtocol;
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
    static final int PARTITIONS = 4;
    static final int BATCH = 4;

    /** The bundled gt-tiny-opt, loaded once: its config, every weight, the encoder for the task. */
    record Model(OptConfig config, Map<String, HostTensor> weights, McEncoder encoder) {
        static Model load() throws IOException {
            Path dir = ModelCatalog.resolve("gt-tiny-opt");
            OptConfig config = HfCheckpoint.readConfig(dir);
            try (OptModel full = ModelFiles.load(dir)) {
                return new Model(config, full.toTensors(n -> true),
                        new McEncoder(BpeTokenizer.fromDirectory(dir), config.bosTokenId(), 48));
            }
        }
    }

    /** Where the sessions run: the broker, and the session keys of the provider whose replicas serve them. */
    record Target(String bootstrap, SessionKeys keys) {
    }

    /**
     * One measurement. {@code peakRssMiB}: the peak of the summed VmRSS of the processes measured (this JVM here;
     * the server replicas in {@link ProcessLoadBenchmark}); {@code peakHeapMiB}: used heap of this JVM.
     */
    record Row(int replicas, int sessions, double meanStepsPerSecond, double totalStepsPerSecond,
               double fairness, long peakRssMiB, long peakHeapMiB, List<String> sessionIds) {
    }

    private LoadBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        DjlRuntime.configure();
        int steps = args.length > 0 ? Integer.parseInt(args[0]) : 10;
        int maxSessions = args.length > 1 ? Integer.parseInt(args[1]) : 8;
        Model model = Model.load();
        List<Row> rows = new ArrayList<>();
        try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.inTemporaryDirectory().start()) {
            createTopics(broker.bootstrapServers(), List.of(
                    new NewTopic(Topics.ACTIVATIONS_UP, PARTITIONS, (short) 1).configs(LIMITS.topicConfig()),
                    new NewTopic(Topics.GRADIENTS_UP, PARTITIONS, (short) 1).configs(LIMITS.topicConfig()),
                    new NewTopic(Topics.DEAD_LETTER, 1, (short) 1).configs(LIMITS.topicConfig())));
            Target target = new Target(broker.bootstrapServers(), KEYS);
            for (int replicas = 1; replicas <= 2; replicas++) {
                List<Replica> servers = new ArrayList<>();
                for (int r = 0; r < replicas; r++) {
                    servers.add(new Replica(broker, model, "load-replica-" + r));
                }
                for (int sessions = 1; sessions <= maxSessions; sessions *= 2) {
                    rows.add(measure(target, model, replicas, sessions, steps,
                            List.of(ProcessHandle.current().pid())));
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

    static String format(Row r) {
        return String.format(Locale.ROOT, "| %d | %d | %.2f | %.2f | %.2f | %d | %d |", r.replicas(), r.sessions(),
                r.meanStepsPerSecond(), r.totalStepsPerSecond(), r.fairness(), r.peakRssMiB(), r.peakHeapMiB());
    }

    /**
     * Runs {@code sessions} Online sessions of {@code steps} steps at once, each its own client (thread, model copy,
     * producer, down-topic consumer) in this JVM, and samples the memory of the processes {@code memoryPids}.
     */
    static Row measure(Target target, Model model, int replicas, int sessions, int steps, List<Long> memoryPids)
            throws Exception {
        MemorySampler memory = new MemorySampler(memoryPids);
        ExecutorService clients = Executors.newFixedThreadPool(sessions);
        long started = System.nanoTime();
        try {
            List<Future<ClientSession.Summary>> runs = new ArrayList<>();
            List<String> ids = new ArrayList<>();
            for (int i = 0; i < sessions; i++) {
                String id = "load-" + replicas + "-" + sessions + "-" + i + "-" + System.nanoTime() % 100_000;
                ids.add(id);
                long seed = i;
                runs.add(clients.submit(() -> runClient(target, model, id, steps, seed)));
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
                    memory.peakRss() >> 20, memory.peakHeap() >> 20, ids);
        } finally {
            clients.shutdownNow();
            memory.close();
        }
    }

    private static ClientSession.Summary runClient(Target target, Model model, String session, int steps,
                                                   long seed) throws Exception {
        SessionSettings s = new SessionSettings(session, Design.ONLINE, 2, 0f, 32, 32, 32, 32, BATCH, 1e-3f, 1, seed,
                0, 0, steps);
        Split split = s.split(model.config());
        createTopics(target.bootstrap(), List.of(new NewTopic(Topics.sessionDown(session), 1, (short) 1)
                .configs(LIMITS.topicConfig())));
        try (KafkaProducer<String, byte[]> producer = PlainKafkaTransport.producer(target.bootstrap(), LIMITS);
             OptModel client = OptModel.fromTensors(model.config(), HostTensor.select(model.weights(), split.client()));
             ClientSplitTrainer trainer = new ClientSplitTrainer(client, split, s.design(), AdamW.Settings.defaults(),
                     LearningRateSchedule.constant(s.learningRate()), ActivationRegularizer.NONE, false)) {
            RemoteBackboneLink link = new RemoteBackboneLink(target.keys().forSession(session), "client-" + session,
                    LIMITS,
                    new RemoteBackboneLink.Settings(32, 32, 32, 32, Duration.ofSeconds(60), 3),
                    records -> records.forEach(producer::send), Clock.systemUTC());
            try (PlainKafkaTransport.PollLoop down = PlainKafkaTransport.listen(target.bootstrap(), LIMITS, link)) {
                link.start(System.currentTimeMillis(), SplitProtocol.TRAIN,
                        KnownDefence.NONE);
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

    private static void createTopics(String bootstrap, List<NewTopic> topics) throws Exception {
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
            admin.createTopics(topics).all().get();
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

    /** Peak resident set (VmRSS, summed over the given processes) and used heap of this JVM, every 100 ms. */
    private static final class MemorySampler implements AutoCloseable {
        private final List<Long> pids;
        private final AtomicLong peakRss = new AtomicLong();
        private final AtomicLong peakHeap = new AtomicLong();
        private final Thread thread;
        private volatile boolean running = true;

        MemorySampler(List<Long> pids) {
            this.pids = pids;
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
            peakRss.accumulateAndGet(pids.stream().mapToLong(MemorySampler::vmRssBytes).sum(), Math::max);
        }

        private static long vmRssBytes(long pid) {
            try {
                for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
                    if (line.startsWith("VmRSS:")) {
                        return Long.parseLong(line.replaceAll("\\D", "")) * 1024;
                    }
                }
            } catch (IOException | NumberFormatException e) {
                return 0; // not Linux, or the process is gone: report 0 rather than fail the benchmark
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
