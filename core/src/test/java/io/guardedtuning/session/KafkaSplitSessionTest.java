package io.guardedtuning.session;

import io.guardedtuning.attack.KnownDefence;
import io.guardedtuning.data.McExample;
import io.guardedtuning.eval.McEncoder;
import io.guardedtuning.kafka.EmbeddedKafkaBroker;
import io.guardedtuning.kafka.EmbeddedKafkaExtension;
import io.guardedtuning.messaging.Topics;
import io.guardedtuning.model.OptConfig;
import io.guardedtuning.model.OptModel;
import io.guardedtuning.model.Split;
import io.guardedtuning.privacy.DistanceCorrelation;
import io.guardedtuning.privacy.DistanceCorrelationPenalty;
import io.guardedtuning.split.ActivationRegularizer;
import io.guardedtuning.split.BackboneServer;
import io.guardedtuning.split.ClientSplitTrainer;
import io.guardedtuning.split.Design;
import io.guardedtuning.split.InProcessLink;
import io.guardedtuning.tensor.HostTensor;
import io.guardedtuning.tokenizer.Gpt2Vocabulary;
import io.guardedtuning.train.AdamW;
import io.guardedtuning.train.LearningRateSchedule;
import io.guardedtuning.train.LocalTrainer;
import io.guardedtuning.train.TaskBatches;
import io.guardedtuning.wire.EventKind;
import io.guardedtuning.wire.WireHeaders;
import io.guardedtuning.wire.WireLimits;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The split protocol end to end over a real (embedded KRaft) broker: client link, server endpoint, topics. */
@ExtendWith(EmbeddedKafkaExtension.class)
class KafkaSplitSessionTest {

    static final Gpt2Vocabulary VOCAB = Gpt2Vocabulary.truncated(60);
    static final OptConfig CONFIG = OptConfig.of(VOCAB.vocabSize(), 32, 6, 64, 4, 64)
            .withSpecialTokens(VOCAB.padTokenId(), VOCAB.bosTokenId(), VOCAB.eosTokenId());
    static final WireLimits LIMITS = WireLimits.chunkedDefaults();
    static final SessionKeys KEYS = new SessionKeys(new byte[32]);

    static List<McExample> task() {
        List<McExample> out = new ArrayList<>();
        for (int i = 0; i < 24; i++) {
            boolean yes = i % 2 == 0;
            out.add(new McExample("e" + i, (yes ? "sun " : "rain ") + i + " ->", List.of(" no", " yes"),
                    yes ? 1 : 0));
        }
        return out;
    }

    /** The server side as server-compute runs it: consume the up topics, answer on the session topics. */
    static final class ServerLoop implements AutoCloseable {
        final OptModel trunk;
        final KafkaProducer<String, byte[]> producer;
        final PlainKafkaTransport.PollLoop loop;

        ServerLoop(EmbeddedKafkaBroker broker, Map<String, HostTensor> backbone, Split split) {
            trunk = OptModel.fromTensors(CONFIG, backbone);
            producer = PlainKafkaTransport.producer(broker.bootstrapServers(), LIMITS);
            loop = PlainKafkaTransport.serve(broker.bootstrapServers(), LIMITS, new BackboneEndpoint(
                    new BackboneServer(trunk, split, 8), KEYS, LIMITS, "server-test", Clock.systemUTC()), producer);
        }

        @Override
        public void close() throws InterruptedException {
            loop.close();
            producer.close();
            trunk.close();
        }
    }

    private static ClientSplitTrainer trainer(OptModel client, Split split, SessionSettings s,
                                              AdamW.Settings optimiser, DistanceCorrelationPenalty dcor) {
        return new ClientSplitTrainer(client, split, s.design(), optimiser, LearningRateSchedule.constant(
                s.learningRate()), dcor.alpha() > 0 ? dcor : ActivationRegularizer.NONE, true);
    }

    /**
     * The same client session in one process, each step whole and nothing sent ahead (an {@link InProcessLink} on
     * the backbone), for reference; returns its adapters.
     */
    static Map<String, HostTensor> runInProcess(SessionSettings s, Map<String, HostTensor> weights,
                                                AdamW.Settings optimiser, float alpha) throws Exception {
        Split split = s.split(CONFIG);
        McEncoder encoder = new McEncoder(VOCAB.tokenizer(), VOCAB.bosTokenId(), 32);
        try (OptModel trunk = OptModel.fromTensors(CONFIG, HostTensor.select(weights, split.backbone()));
             BackboneServer server = new BackboneServer(trunk, split, 8);
             OptModel client = OptModel.fromTensors(CONFIG, HostTensor.select(weights, split.client()));
             DistanceCorrelationPenalty dcor = new DistanceCorrelationPenalty(alpha, DistanceCorrelation.perToken());
             ClientSplitTrainer trainer = trainer(client, split, s, optimiser, dcor)) {
            ClientSession.train(s, trainer, new TaskBatches(task(), encoder, s.batchSize(), s.seed()),
                    new InProcessLink(server, s.sessionId()), null, AuditSink.NONE, r -> { });
            return client.toTensors(trainer.trainable().keySet()::contains);
        }
    }

    /** Runs a client session over Kafka; returns its adapters. */
    static Map<String, HostTensor> runClient(EmbeddedKafkaBroker broker, SessionSettings s,
                                             Map<String, HostTensor> weights, Path checkpoints,
                                             List<ClientSession.Summary> summaries) throws Exception {
        return runClient(broker, s, weights, checkpoints, summaries, ADAM, 1, 0f, new ArrayList<>());
    }

    static final AdamW.Settings ADAM = new AdamW.Settings(0.9f, 0.999f, 1e-8f, 0f, 1f);

    /**
     * Runs a client session over Kafka with its steps cut into {@code microBatches} and a dCor penalty of
     * {@code alpha}; adds the link's stats to {@code stats}.
     */
    static Map<String, HostTensor> runClient(EmbeddedKafkaBroker broker, SessionSettings s,
                                             Map<String, HostTensor> weights, Path checkpoints,
                                             List<ClientSession.Summary> summaries, AdamW.Settings optimiser,
                                             int microBatches, float alpha, List<RemoteBackboneLink.Stats> stats)
            throws Exception {
        Split split = s.split(CONFIG);
        String session = s.sessionId();
        broker.createTopics(LIMITS.topicConfig(), Topics.sessionDown(session));
        McEncoder encoder = new McEncoder(VOCAB.tokenizer(), VOCAB.bosTokenId(), 32);
        try (KafkaProducer<String, byte[]> p = PlainKafkaTransport.producer(broker.bootstrapServers(), LIMITS);
             OptModel client = OptModel.fromTensors(CONFIG, HostTensor.select(weights, split.client()));
             DistanceCorrelationPenalty dcor = new DistanceCorrelationPenalty(alpha, DistanceCorrelation.perToken());
             ClientSplitTrainer trainer = trainer(client, split, s, optimiser, dcor)) {
            RemoteBackboneLink link = new RemoteBackboneLink(KEYS.forSession(session), "client-test", LIMITS,
                    new RemoteBackboneLink.Settings(s.bitsUp(), s.bitsDown(), s.gradientBitsUp(),
                            s.gradientBitsDown(), Duration.ofSeconds(20), 3, microBatches, true),
                    records -> records.forEach(p::send), Clock.systemUTC());
            try (PlainKafkaTransport.PollLoop down = PlainKafkaTransport.listen(broker.bootstrapServers(), LIMITS,
                    link)) {
                link.start(System.currentTimeMillis(), SplitProtocol.TRAIN,
                        KnownDefence.NONE);
                TaskBatches batches = new TaskBatches(task(), encoder, s.batchSize(), s.seed());
                summaries.add(ClientSession.train(s, trainer, batches, link, checkpoints,
                        new AuditedSteps(s.auditEvery(), 64), r -> { }));
            }
            stats.add(link.stats());
            return client.toTensors(trainer.trainable().keySet()::contains);
        }
    }

    @Test
    void onlineOverKafkaEqualsCentralizedFineTuningOfTheSameLayers(EmbeddedKafkaBroker broker) throws Exception {
        SessionSettings s = SessionSettings.defaults("eq-" + UUID.randomUUID().toString().substring(0, 8),
                Design.ONLINE).withTraining(4, 5e-3f, 1, 5);
        Split split = s.split(CONFIG);
        Map<String, HostTensor> weights = OptModel.randomTensors(CONFIG, 11, n -> true);

        Map<String, HostTensor> centralized;
        try (OptModel whole = OptModel.fromTensors(CONFIG, weights);
             LocalTrainer t = new LocalTrainer(whole, split.adapters(),
                     new io.guardedtuning.train.AdamW.Settings(0.9f, 0.999f, 1e-8f, 0f, 1f),
                     LearningRateSchedule.constant(s.learningRate()))) {
            TaskBatches batches = new TaskBatches(task(), new McEncoder(VOCAB.tokenizer(), VOCAB.bosTokenId(), 32),
                    s.batchSize(), s.seed());
            for (int i = 0; i < s.maxSteps(); i++) {
                TaskBatches.Batch b = batches.next();
                t.step(b.sequences(), b.lossFrom());
            }
            centralized = whole.toTensors(split.adapters());
        }

        List<ClientSession.Summary> summaries = new ArrayList<>();
        Map<String, HostTensor> online;
        try (ServerLoop server = new ServerLoop(broker, HostTensor.select(weights, split.backbone()), split)) {
            online = runClient(broker, s, weights, null, summaries);
        }
        assertEquals(5, summaries.get(0).steps());
        assertEquals(centralized.keySet(), online.keySet());
        centralized.forEach((n, want) -> {
            for (int i = 0; i < want.data().length; i++) {
                assertEquals(want.data()[i], online.get(n).data()[i], 1e-5f, n + "[" + i + "]");
            }
        });
    }

    /**
     * Pipelining changes when the parts of a step travel, not what the step computes: Online with a dCor penalty
     * (over the whole batch) and Gradfree (whose next step's h_in goes ahead), sent whole and cut into micro-batches
     * of unequal size and padding, end with the weights of the same sessions run in one process, to 1e-5. Adam's ε is 1 here so that an update is proportional
     * to its gradient: with a tiny ε, Adam turns float rounding in gradients that are zero in exact arithmetic (the
     * key bias's) into steps of the full learning rate, whichever way the step is computed.
     */
    @Test
    void pipelinedStepsEndWithTheWeightsOfWholeStepsInOneProcess(EmbeddedKafkaBroker broker) throws Exception {
        AdamW.Settings proportional = new AdamW.Settings(0.9f, 0.999f, 1f, 0f, 1f);
        for (Design design : List.of(Design.ONLINE, Design.GRADFREE)) {
            Map<String, HostTensor> weights = OptModel.randomTensors(CONFIG, 23, n -> true);
            float alpha = design == Design.ONLINE ? 2f : 0f;
            Map<String, HostTensor> whole = runInProcess(SessionSettings.defaults("mb-local", design)
                    .withTraining(5, 0.05f, 1, 4), weights, proportional, alpha);
            Map<Integer, Map<String, HostTensor>> byParts = new LinkedHashMap<>();
            for (int parts : new int[] {1, 3}) {
                SessionSettings s = SessionSettings.defaults("mb" + parts + "-"
                        + UUID.randomUUID().toString().substring(0, 8), design).withTraining(5, 0.05f, 1, 4);
                Split split = s.split(CONFIG);
                List<RemoteBackboneLink.Stats> stats = new ArrayList<>();
                try (ServerLoop server = new ServerLoop(broker, HostTensor.select(weights, split.backbone()),
                        split)) {
                    byParts.put(parts, runClient(broker, s, weights, null, new ArrayList<>(), proportional, parts,
                            alpha, stats));
                }
                long perStep = (design == Design.ONLINE ? 2 : 1) * parts;
                assertTrue(stats.get(0).messagesUp() >= 1 + 4 * perStep, design + " with " + parts
                        + " parts sent " + stats.get(0).messagesUp() + " records for 4 steps");
                assertEquals(0, stats.get(0).retries(), design + ": nothing timed out");
            }
            byParts.forEach((parts, overKafka) -> {
                assertEquals(whole.keySet(), overKafka.keySet());
                whole.forEach((n, want) -> {
                    for (int i = 0; i < want.data().length; i++) {
                        assertEquals(want.data()[i], overKafka.get(n).data()[i], 1e-5f,
                                design + " in " + parts + " parts: " + n + "[" + i + "]");
                    }
                });
            });
        }
    }

    @Test
    void gradfreeSendsNoGradientOnAnyTopicAndStillLearns(EmbeddedKafkaBroker broker) throws Exception {
        SessionSettings s = SessionSettings.defaults("gf-" + UUID.randomUUID().toString().substring(0, 8),
                Design.GRADFREE).withTraining(6, 1e-2f, 4, 0).withBits(8, 8, 32, 32)
                .withCheckpointsAndAudit(0, 2);
        Split split = s.split(CONFIG);
        Map<String, HostTensor> weights = OptModel.randomTensors(CONFIG, 5, n -> true);
        List<ClientSession.Summary> summaries = new ArrayList<>();
        try (ServerLoop server = new ServerLoop(broker, HostTensor.select(weights, split.backbone()), split)) {
            runClient(broker, s, weights, null, summaries);
        }
        ClientSession.Summary sum = summaries.get(0);
        assertEquals(16, sum.steps());
        assertEquals(12, sum.backboneCachedSteps(), "epochs 2-4 reuse the cached h_out");
        assertTrue(sum.lastLoss() < sum.firstLoss(), sum.firstLoss() + " -> " + sum.lastLoss());

        Set<String> kinds = new HashSet<>();
        try (KafkaConsumer<String, byte[]> c = PlainKafkaTransport.consumer(broker.bootstrapServers(), LIMITS,
                "inspect-" + UUID.randomUUID(), "earliest")) {
            c.subscribe(java.util.regex.Pattern.compile("gt\\..*"));
            long deadline = System.currentTimeMillis() + 8000;
            while (System.currentTimeMillis() < deadline) {
                for (ConsumerRecord<String, byte[]> r : c.poll(Duration.ofMillis(200))) {
                    if (s.sessionId().equals(r.key()) && r.headers().lastHeader(WireHeaders.KIND) != null) {
                        kinds.add(new String(r.headers().lastHeader(WireHeaders.KIND).value(),
                                StandardCharsets.UTF_8));
                    }
                }
            }
        }
        assertTrue(kinds.contains(EventKind.ACTIVATION_UP.name()), kinds.toString());
        assertEquals(Set.of(EventKind.ACTIVATION_UP.name(), EventKind.ACTIVATION_DOWN.name(),
                EventKind.CONTROL.name()), kinds, "the client's rows stay with it: no other kind crossed");
        assertFalse(kinds.contains(EventKind.GRADIENT_UP.name()), "a gradient crossed in Gradfree: " + kinds);
        assertFalse(kinds.contains(EventKind.GRADIENT_DOWN.name()), "a gradient crossed in Gradfree: " + kinds);
    }

    @Test
    void aClientKilledMidRunResumesFromItsCheckpointAndEndsWithTheSameWeights(EmbeddedKafkaBroker broker)
            throws Exception {
        String id = "rs-" + UUID.randomUUID().toString().substring(0, 8);
        SessionSettings full = SessionSettings.defaults(id, Design.ONLINE).withTraining(4, 5e-3f, 2, 0)
                .withCheckpointsAndAudit(2, 0);
        Split split = full.split(CONFIG);
        Map<String, HostTensor> weights = OptModel.randomTensors(CONFIG, 17, n -> true);
        Path dir = Files.createTempDirectory("gt-client-ckpt");
        List<ClientSession.Summary> summaries = new ArrayList<>();
        Map<String, HostTensor> uninterrupted;
        Map<String, HostTensor> resumed;
        try (ServerLoop server = new ServerLoop(broker, HostTensor.select(weights, split.backbone()), split)) {
            uninterrupted = runClient(broker, SessionSettings.defaults(id + "u", Design.ONLINE)
                    .withTraining(4, 5e-3f, 2, 0), weights, null, summaries);
            // "Killed" after 7 of 12 steps: the last checkpoint is at step 6.
            runClient(broker, full.withTraining(4, 5e-3f, 2, 7), weights, dir, summaries);
            resumed = runClient(broker, full, weights, dir, summaries);
        }
        assertEquals(6, summaries.get(2).resumedFromStep());
        assertEquals(6, summaries.get(2).steps());
        uninterrupted.forEach((n, want) -> {
            for (int i = 0; i < want.data().length; i++) {
                assertEquals(want.data()[i], resumed.get(n).data()[i], 1e-6f, n + "[" + i + "]");
            }
        });
    }
}
