package io.guardedtuning.benchmarks;

import io.guardedtuning.checkpoint.ModelCatalog;
import io.guardedtuning.checkpoint.ModelFiles;
import io.guardedtuning.data.McExample;
import io.guardedtuning.data.McTask;
import io.guardedtuning.data.PackageCache;
import io.guardedtuning.data.SplitSizes;
import io.guardedtuning.data.TaskRegistry;
import io.guardedtuning.engine.DjlRuntime;
import io.guardedtuning.eval.McEncoder;
import io.guardedtuning.eval.MultipleChoiceEvaluator;
import io.guardedtuning.kafka.EmbeddedKafkaBroker;
import io.guardedtuning.messaging.Topics;
import io.guardedtuning.model.OptModel;
import io.guardedtuning.model.Split;
import io.guardedtuning.privacy.DistanceCorrelation;
import io.guardedtuning.privacy.DistanceCorrelationPenalty;
import io.guardedtuning.session.BackboneEndpoint;
import io.guardedtuning.session.ClientSession;
import io.guardedtuning.session.PlainKafkaTransport;
import io.guardedtuning.session.Precision;
import io.guardedtuning.session.RemoteBackboneLink;
import io.guardedtuning.session.SessionKeys;
import io.guardedtuning.session.SessionSettings;
import io.guardedtuning.session.SplitLanguageModel;
import io.guardedtuning.split.ActivationRegularizer;
import io.guardedtuning.split.BackboneLink;
import io.guardedtuning.split.BackboneServer;
import io.guardedtuning.split.ClientSplitTrainer;
import io.guardedtuning.split.Design;
import io.guardedtuning.split.InProcessLink;
import io.guardedtuning.tensor.HostTensor;
import io.guardedtuning.tokenizer.BpeTokenizer;
import io.guardedtuning.train.AdamW;
import io.guardedtuning.train.LearningRateSchedule;
import io.guardedtuning.train.TaskBatches;
import io.guardedtuning.train.TaskFinetuner;
import io.guardedtuning.wire.CodecSpec;
import io.guardedtuning.wire.TensorCodec;
import io.guardedtuning.wire.WireLimits;
import org.apache.kafka.clients.producer.KafkaProducer;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.function.UnaryOperator;

/**
 * Utility and cost of the split designs against centralized fine-tuning of the same layers, on the bundled tiny
 * model and a bundled task: accuracy after tuning, bytes per step each way, and the wall time of a step over the
 * embedded Kafka broker against the same step with an in-process backbone (same codecs), measured side by side.
 * <p>Run: {@code java -cp ... io.guardedtuning.benchmarks.SplitDesignBenchmark [task] [train] [test] [epochs]}
 */
public final class SplitDesignBenchmark {

    private static final WireLimits LIMITS = WireLimits.chunkedDefaults();
    private static final SessionKeys KEYS = new SessionKeys(new byte[32]);

    private record Cell(String name, Design design, float alpha, int bits, int gradBits) {
    }

    private SplitDesignBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        DjlRuntime.configure();
        String taskName = args.length > 0 ? args[0] : "imdb-sentiment";
        int trainSize = args.length > 1 ? Integer.parseInt(args[1]) : 800;
        int testSize = args.length > 2 ? Integer.parseInt(args[2]) : 300;
        int epochs = args.length > 3 ? Integer.parseInt(args[3]) : 1;
        Path dir = ModelCatalog.resolve("gt-tiny-opt");
        BpeTokenizer tokenizer = BpeTokenizer.fromDirectory(dir);
        McTask task = new TaskRegistry(new PackageCache(), new SplitSizes(trainSize, 100, testSize), 600)
                .resolve(taskName);
        List<McExample> train = task.train();
        List<McExample> test = task.test();
        int k = 2;
        float lr = 1e-3f;
        int batch = 8;
        var weights = ModelFiles.load(dir).toTensors(n -> true);
        var config = io.guardedtuning.checkpoint.HfCheckpoint.readConfig(dir);
        Split split = Split.of(k, config);
        McEncoder encoder = new McEncoder(tokenizer, config.bosTokenId(), 192);
        MultipleChoiceEvaluator evaluator = new MultipleChoiceEvaluator(encoder, config.padTokenId(), 16);

        System.out.printf(Locale.ROOT, "task=%s train=%d test=%d epochs=%d k=%d lr=%g batch=%d cores=%d%n",
                taskName, train.size(), test.size(), epochs, k, lr, batch, Runtime.getRuntime().availableProcessors());
        double before;
        double centralized;
        long centralMillis;
        try (OptModel whole = OptModel.fromTensors(config, weights)) {
            before = evaluator.evaluate(whole::logits, test).accuracy();
            long t0 = System.nanoTime();
            TaskFinetuner.run(whole, encoder, train, split.adapters(),
                    new TaskFinetuner.Settings(epochs, batch, lr, 0f, 1), r -> { });
            centralMillis = (System.nanoTime() - t0) / 1_000_000;
            centralized = evaluator.evaluate(whole::logits, test).accuracy();
        }
        int steps = TaskFinetuner.steps(train.size(), new TaskFinetuner.Settings(epochs, batch, lr, 0f, 1));
        System.out.printf(Locale.ROOT, "zero-shot acc %.4f; centralized (adapters) acc %.4f, %.1f ms/step%n",
                before, centralized, (double) centralMillis / steps);
        System.out.println("| design | alpha | bits act/grad | acc | Δ vs centralized (pts) | bytes up/step | "
                + "bytes down/step | vs fp32 Online | ms/step Kafka | ms/step in-process | Kafka/in-process |");
        System.out.println("|---|---|---|---|---|---|---|---|---|---|---|");
        List<Cell> cells = List.of(
                new Cell("online", Design.ONLINE, 0f, 32, 32),
                new Cell("online", Design.ONLINE, 0f, 8, 8),
                new Cell("online", Design.ONLINE, 0f, 4, 8),
                new Cell("online", Design.ONLINE, 1f, 8, 8),
                new Cell("online", Design.ONLINE, 8f, 4, 8),
                new Cell("gradfree", Design.GRADFREE, 0f, 32, 32),
                new Cell("gradfree", Design.GRADFREE, 0f, 8, 32),
                new Cell("gradfree", Design.GRADFREE, 0f, 4, 32));
        double fp32OnlineBytes = Double.NaN;
        try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.inTemporaryDirectory().start()) {
            broker.createTopics(LIMITS.topicConfig(), Topics.shared().toArray(String[]::new));
            int n = 0;
            for (Cell c : cells) {
                String session = "bench-" + (n++);
                broker.createTopics(LIMITS.topicConfig(), Topics.sessionDown(session));
                Result kafka = run(c, session, broker, weights, config, split, encoder, evaluator, train, test,
                        epochs, batch, lr, true);
                Result local = run(c, session + "-local", broker, weights, config, split, encoder, evaluator, train,
                        test, epochs, batch, lr, false);
                double bytes = kafka.bytesUpPerStep + kafka.bytesDownPerStep;
                if (c.design() == Design.ONLINE && c.bits() == 32) {
                    fp32OnlineBytes = bytes;
                }
                System.out.printf(Locale.ROOT, "| %s | %s | %d/%d | %.4f | %+.1f | %.0f | %.0f | %.3f | %.1f | %.1f | "
                                + "%.2f |%n", c.name(), c.alpha(), c.bits(), c.gradBits(), kafka.accuracy,
                        100 * (kafka.accuracy - centralized), kafka.bytesUpPerStep, kafka.bytesDownPerStep,
                        bytes / fp32OnlineBytes, kafka.msPerStep, local.msPerStep, kafka.msPerStep / local.msPerStep);
            }
        }
    }

    private record Result(double accuracy, double bytesUpPerStep, double bytesDownPerStep, double msPerStep) {
    }

    private static Result run(Cell c, String session, EmbeddedKafkaBroker broker,
                              java.util.Map<String, HostTensor> weights, io.guardedtuning.model.OptConfig config,
                              Split split, McEncoder encoder, MultipleChoiceEvaluator evaluator,
                              List<McExample> train, List<McExample> test, int epochs, int batch, float lr,
                              boolean overKafka) throws Exception {
        SessionSettings s = SessionSettings.defaults(session, c.design()).withAlpha(c.alpha())
                .withBits(c.bits(), c.bits(), c.gradBits(), c.gradBits()).withTraining(batch, lr, epochs, 0);
        try (OptModel client = OptModel.fromTensors(config, HostTensor.select(weights, split.client()));
             OptModel trunk = OptModel.fromTensors(config, HostTensor.select(weights, split.backbone()));
             BackboneServer server = new BackboneServer(trunk, split, 8);
             DistanceCorrelationPenalty penalty = new DistanceCorrelationPenalty(c.alpha(),
                     DistanceCorrelation.perToken());
             ClientSplitTrainer trainer = new ClientSplitTrainer(client, split, c.design(),
                     new AdamW.Settings(0.9f, 0.999f, 1e-8f, 0f, 1f), LearningRateSchedule.constant(lr),
                     c.alpha() > 0 ? penalty : ActivationRegularizer.NONE, true)) {
            TaskBatches batches = new TaskBatches(train, encoder, batch, 1);
            if (!overKafka) {
                BackboneLink link = new InProcessLink(server, session, wire(Precision.activations(c.bits())),
                        wire(Precision.activations(c.bits())));
                ClientSession.Summary sum = ClientSession.train(s, trainer, batches, link, null,
                        io.guardedtuning.session.AuditSink.NONE, r -> { });
                return new Result(Double.NaN, Double.NaN, Double.NaN, (double) sum.wallMillis() / sum.steps());
            }
            try (KafkaProducer<String, byte[]> producer = PlainKafkaTransport.producer(broker.bootstrapServers(),
                    LIMITS);
                 PlainKafkaTransport.PollLoop serverLoop = PlainKafkaTransport.serve(broker.bootstrapServers(), LIMITS,
                         new BackboneEndpoint(server, KEYS, LIMITS, "bench-server", Clock.systemUTC()), producer)) {
                RemoteBackboneLink link = new RemoteBackboneLink(KEYS.forSession(session), "bench-client", LIMITS,
                        new RemoteBackboneLink.Settings(c.bits(), c.bits(), c.gradBits(), c.gradBits(),
                                Duration.ofSeconds(60), 3), records -> records.forEach(producer::send),
                        Clock.systemUTC());
                try (PlainKafkaTransport.PollLoop down = PlainKafkaTransport.listen(broker.bootstrapServers(), LIMITS,
                        link)) {
                    link.start(System.currentTimeMillis());
                    ClientSession.Summary sum = ClientSession.train(s, trainer, batches, link, null,
                            io.guardedtuning.session.AuditSink.NONE, r -> { });
                    RemoteBackboneLink.Stats training = link.stats();
                    double acc = evaluator.evaluate(new SplitLanguageModel(client, split, link), test).accuracy();
                    return new Result(acc, (double) training.bytesUp() / sum.steps(),
                            (double) training.bytesDown() / sum.steps(), (double) sum.wallMillis() / sum.steps());
                }
            }
        }
    }

    /** Encode and decode with a codec: what the wire does to a tensor, without the wire. */
    private static UnaryOperator<HostTensor> wire(CodecSpec spec) {
        TensorCodec codec = spec.newCodec();
        return t -> codec.decode(t.shape(), codec.encode(t));
    }

}
