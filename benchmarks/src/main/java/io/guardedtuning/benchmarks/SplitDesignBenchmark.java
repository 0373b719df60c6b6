package io.guardedtuning.benchmarks;

import io.guardedtuning.attack.KnownDefence;
import io.guardedtuning.session.SplitProtocol;
import io.guardedtuning.kafka.EmbeddedKafkaBroker;
import io.guardedtuning.messaging.Topics;
import io.guardedtuning.model.OptModel;
import io.guardedtuning.session.AuditSink;
import io.guardedtuning.session.BackboneEndpoint;
import io.guardedtuning.session.ClientSession;
import io.guardedtuning.session.PlainKafkaTransport;
import io.guardedtuning.session.RemoteBackboneLink;
import io.guardedtuning.session.SessionKeys;
import io.guardedtuning.session.SessionSettings;
import io.guardedtuning.session.SplitLanguageModel;
import io.guardedtuning.split.BackboneLink;
import io.guardedtuning.split.Design;
import io.guardedtuning.storage.AtomicFiles;
import io.guardedtuning.train.TaskBatches;
import io.guardedtuning.train.TaskFinetuner;
import io.guardedtuning.wire.WireLimits;
import org.apache.kafka.clients.producer.KafkaProducer;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Utility and cost of the split designs against centralized fine-tuning of the same layers, on a pretrained model
 * and a bundled task: accuracy after tuning, bytes per exchanged step each way, and the wall time of a step over
 * the embedded Kafka broker against the same steps with an in-process backbone behind the same codecs.
 * <p>Each cell trains over Kafka for all epochs (accuracy, bytes, Kafka time), then a fresh copy trains the first
 * {@code timed} steps in-process; ms/step compares steps 1..timed-1 of both runs (step 0 carries start-up). The
 * Kafka-trained client is evaluated forward-only through an in-process backbone with the cell's codecs: the math
 * is the transport's, and evaluating over Kafka would replay step numbers the session already used.
 *
 * <pre>
 * java -cp "$CP" io.guardedtuning.benchmarks.SplitDesignBenchmark [model=gt-tiny-opt] [task=spam-assassin]
 *      [train=800] [test=300] [epochs=2] [lr=3e-3] [batch=8] [k=2] [tokens=192] [timed=30]
 *      [cells=online:0:32:32,online:0:8:8,...]   (design:alpha:activation bits:gradient bits)
 * </pre>
 */
public final class SplitDesignBenchmark {

    private static final WireLimits LIMITS = WireLimits.chunkedDefaults();
    private static final SessionKeys KEYS = new SessionKeys(new byte[32]);
    private static final String DEFAULT_CELLS = "online:0:32:32,online:0:8:8,online:0:4:8,online:0:4:4,"
            + "gradfree:0:32:32,gradfree:0:8:32,gradfree:0:4:32";

    private record Cell(Design design, float alpha, int bits, int gradientBits) {
        static Cell parse(String spec) {
            String[] p = spec.split(":");
            return new Cell(Design.valueOf(p[0].toUpperCase(Locale.ROOT)), Float.parseFloat(p[1]),
                    Integer.parseInt(p[2]), Integer.parseInt(p[3]));
        }

        SessionSettings settings(String session, int batch, float lr, int epochs, int maxSteps) {
            return SessionSettings.defaults(session, design).withAlpha(alpha)
                    .withBits(bits, bits, gradientBits, gradientBits).withTraining(batch, lr, epochs, maxSteps);
        }
    }

    /** Wall-clock instants at the end of each step, to time a range of steps. */
    private static final class StepClock {
        private final List<Long> ends = new ArrayList<>();

        void tick() {
            ends.add(System.nanoTime());
        }

        /** Mean ms of steps 1..upTo-1 (the time between the ends of consecutive steps). */
        double meanMillis(int upTo) {
            int last = Math.min(upTo, ends.size()) - 1;
            return (ends.get(last) - ends.get(0)) / 1e6 / last;
        }
    }

    private record Result(double accuracy, double bytesUpPerStep, double bytesDownPerStep, long steps,
                          long exchangedSteps, double kafkaMillis) {
    }

    private SplitDesignBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        SplitBench.Options o = SplitBench.Options.parse(args);
        SplitBench bench = SplitBench.load(o, 192);
        int epochs = o.integer("epochs", 2);
        float lr = o.decimal("lr", 3e-3f);
        int batch = o.integer("batch", 8);
        int timed = o.integer("timed", 30);
        List<Cell> cells = Arrays.stream(o.text("cells", DEFAULT_CELLS).split(",")).map(Cell::parse).toList();
        System.out.printf(Locale.ROOT, "task=%s train=%d test=%d epochs=%d k=%d lr=%g batch=%d timed=%d cores=%d%n",
                o.text("task", "spam-assassin"), bench.train.size(), bench.test.size(), epochs, bench.split.k(), lr,
                batch, timed, Runtime.getRuntime().availableProcessors());

        TaskFinetuner.Settings central = new TaskFinetuner.Settings(epochs, batch, lr, 0f, 1);
        double zeroShot;
        double centralized;
        long centralMillis;
        try (OptModel whole = OptModel.fromTensors(bench.config, bench.pretrained)) {
            zeroShot = bench.accuracy(whole::logits);
            long t0 = System.nanoTime();
            TaskFinetuner.run(whole, bench.encoder, bench.train, bench.split.adapters(), central, r -> { });
            centralMillis = (System.nanoTime() - t0) / 1_000_000;
            centralized = bench.accuracy(whole::logits);
        }
        System.out.printf(Locale.ROOT, "zero-shot acc %.4f; centralized (adapters) acc %.4f, %.1f ms/step%n",
                zeroShot, centralized, (double) centralMillis / TaskFinetuner.steps(bench.train.size(), central));

        List<String> rows = new ArrayList<>();
        double fp32OnlineBytes = Double.NaN;
        try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.inTemporaryDirectory().start()) {
            broker.createTopics(LIMITS.topicConfig(), Topics.shared().toArray(String[]::new));
            for (int i = 0; i < cells.size(); i++) {
                Cell c = cells.get(i);
                String session = "bench-" + i;
                broker.createTopics(LIMITS.topicConfig(), Topics.sessionDown(session));
                Result kafka = overKafka(bench, broker, c.settings(session, batch, lr, epochs, 0), c, timed, 1, true);
                double inProcessMillis = inProcess(bench, c.settings(session + "-local", batch, lr, epochs, timed),
                        c, timed);
                double bytes = kafka.bytesUpPerStep() + kafka.bytesDownPerStep();
                if (c.design() == Design.ONLINE && c.bits() == 32 && c.gradientBits() == 32 && c.alpha() == 0) {
                    fp32OnlineBytes = bytes;
                }
                String row = String.format(Locale.ROOT, "| %s | %s | %s | %.4f | %+.1f | %.0f | %.0f | %d/%d | %.3f | "
                                + "%.1f | %.1f | %.2f |", c.design().name().toLowerCase(Locale.ROOT), c.alpha(),
                        c.design() == Design.ONLINE ? c.bits() + "/" + c.gradientBits() : c.bits() + "/–",
                        kafka.accuracy(), 100 * (kafka.accuracy() - centralized), kafka.bytesUpPerStep(),
                        kafka.bytesDownPerStep(), kafka.exchangedSteps(), kafka.steps(), bytes / fp32OnlineBytes,
                        kafka.kafkaMillis(), inProcessMillis, kafka.kafkaMillis() / inProcessMillis);
                rows.add(row);
                System.out.println(row);
            }
        }
        System.out.println();
        System.out.println("| design | α | bits act/grad | acc | Δ vs centralized (pts) | bytes up/exchanged step | "
                + "bytes down/exchanged step | exchanged/all steps | vs fp32 Online | ms/step Kafka | "
                + "ms/step in-process | Kafka/in-process |");
        System.out.println("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        rows.forEach(System.out::println);
    }

    /**
     * Issue 16's split-step ratio of one cell (design:alpha:activation bits:gradient bits): the median over
     * {@code rounds} of Kafka ms/step over in-process ms/step, each run for only {@code timed} steps, with each step
     * over Kafka cut into {@code microBatches}. The two runs of a round go back to back: on a shared machine whose
     * speed drifts by tens of percent within a minute, pairing each Kafka run with the in-process run beside it keeps
     * the drift out of the ratio.
     */
    static double kafkaOverInProcess(SplitBench bench, String cell, int batch, float lr, int timed, int microBatches,
                                     boolean sendAhead, int rounds) throws Exception {
        Cell c = Cell.parse(cell);
        EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.inTemporaryDirectory().start();
        try (broker) {
            broker.createTopics(LIMITS.topicConfig(), Topics.shared().toArray(String[]::new));
            double[] ratios = new double[rounds];
            for (int r = 0; r < rounds; r++) {
                // A session per round: nothing of an earlier round's session can reach this one.
                String session = "ratio-" + r;
                broker.createTopics(LIMITS.topicConfig(), Topics.sessionDown(session));
                Result kafka = overKafka(bench, broker, c.settings(session, batch, lr, 1, timed), c, timed,
                        microBatches, sendAhead);
                double inProcessMillis = inProcess(bench, c.settings(session + "-local", batch, lr, 1, timed), c,
                        timed);
                ratios[r] = kafka.kafkaMillis() / inProcessMillis;
                System.out.printf(Locale.ROOT, "%s, %d micro-batches%s, round %d: %.1f ms/step over Kafka, %.1f "
                        + "in-process (steps 1..%d)%n", cell, microBatches, sendAhead ? "" : ", not sending ahead", r,
                        kafka.kafkaMillis(), inProcessMillis, timed - 1);
            }
            Arrays.sort(ratios);
            return ratios[rounds / 2];
        } finally {
            AtomicFiles.deleteRecursively(broker.dataDir());
        }
    }

    /**
     * The median over {@code rounds} of an in-process step with the backbone on a thread of its own
     * ({@link OwnThreadLink}) over the same step with the backbone on the client's thread, each pair back to back.
     */
    static double ownThreadOverInProcess(SplitBench bench, String cell, int batch, float lr, int timed, int rounds)
            throws Exception {
        Cell c = Cell.parse(cell);
        double[] ratios = new double[rounds];
        for (int r = 0; r < rounds; r++) {
            String session = "thread-" + r;
            double ownThread = inProcess(bench, c.settings(session, batch, lr, 1, timed), c, timed, true);
            double sameThread = inProcess(bench, c.settings(session, batch, lr, 1, timed), c, timed, false);
            ratios[r] = ownThread / sameThread;
            System.out.printf(Locale.ROOT, "%s, round %d: %.1f ms/step with the backbone on its own thread, %.1f on "
                    + "the client's (steps 1..%d)%n", cell, r, ownThread, sameThread, timed - 1);
        }
        Arrays.sort(ratios);
        return ratios[rounds / 2];
    }

    private static Result overKafka(SplitBench bench, EmbeddedKafkaBroker broker, SessionSettings s, Cell c,
                                    int timed, int microBatches, boolean sendAhead) throws Exception {
        String session = s.sessionId();
        try (SplitBench.Parties p = bench.parties(c.design(), c.alpha(), s.learningRate());
             KafkaProducer<String, byte[]> producer = PlainKafkaTransport.producer(broker.bootstrapServers(),
                     LIMITS);
             PlainKafkaTransport.PollLoop serverLoop = PlainKafkaTransport.serve(broker.bootstrapServers(), LIMITS,
                     new BackboneEndpoint(p.server, KEYS, LIMITS, "bench-server", Clock.systemUTC()), producer)) {
            RemoteBackboneLink link = new RemoteBackboneLink(KEYS.forSession(session), "bench-client", LIMITS,
                    new RemoteBackboneLink.Settings(s.bitsUp(), s.bitsDown(), s.gradientBitsUp(),
                            s.gradientBitsDown(), Duration.ofSeconds(60), 3, microBatches, sendAhead),
                    records -> records.forEach(producer::send),
                    Clock.systemUTC());
            StepClock clock = new StepClock();
            ClientSession.Summary sum;
            try (PlainKafkaTransport.PollLoop down = PlainKafkaTransport.listen(broker.bootstrapServers(), LIMITS,
                    link)) {
                link.start(System.currentTimeMillis(), SplitProtocol.TRAIN,
                        KnownDefence.NONE);
                sum = ClientSession.train(s, p.trainer, new TaskBatches(bench.train, bench.encoder, s.batchSize(),
                        s.seed()), link, null, AuditSink.NONE, r -> clock.tick());
            }
            RemoteBackboneLink.Stats stats = link.stats();
            long exchanged = sum.steps() - sum.backboneCachedSteps();
            BackboneLink sameCodecs = new WireSimulatedLink(p.server, session + "-eval", s.bitsUp(), s.bitsDown(),
                    s.gradientBitsUp(), s.gradientBitsDown(), WireSimulatedLink.ServerView.NONE);
            double accuracy = bench.accuracy(new SplitLanguageModel(p.client, bench.split, sameCodecs));
            return new Result(accuracy, (double) stats.bytesUp() / exchanged, (double) stats.bytesDown() / exchanged,
                    sum.steps(), exchanged, clock.meanMillis(timed));
        }
    }

    private static double inProcess(SplitBench bench, SessionSettings s, Cell c, int timed) throws Exception {
        return inProcess(bench, s, c, timed, false);
    }

    private static double inProcess(SplitBench bench, SessionSettings s, Cell c, int timed, boolean ownThread)
            throws Exception {
        try (SplitBench.Parties p = bench.parties(c.design(), c.alpha(), s.learningRate());
             OwnThreadLink backboneThread = new OwnThreadLink(new WireSimulatedLink(p.server, s.sessionId(),
                     s.bitsUp(), s.bitsDown(), s.gradientBitsUp(), s.gradientBitsDown(),
                     WireSimulatedLink.ServerView.NONE))) {
            BackboneLink link = ownThread ? backboneThread : backboneThread.backbone();
            StepClock clock = new StepClock();
            ClientSession.train(s, p.trainer, new TaskBatches(bench.train, bench.encoder, s.batchSize(), s.seed()),
                    link, null, AuditSink.NONE, r -> clock.tick());
            return clock.meanMillis(timed);
        }
    }
}
