package io.guardedtuning.audit;

import ai.djl.ndarray.NDManager;
import io.guardedtuning.attack.KnownDefence;
import io.guardedtuning.data.McExample;
import io.guardedtuning.eval.McEncoder;
import io.guardedtuning.kafka.EmbeddedKafkaBroker;
import io.guardedtuning.messaging.Topics;
import io.guardedtuning.model.OptConfig;
import io.guardedtuning.model.OptModel;
import io.guardedtuning.model.Split;
import io.guardedtuning.model.TokenBatch;
import io.guardedtuning.session.AuditSink;
import io.guardedtuning.session.AuditedSteps;
import io.guardedtuning.session.BackboneEndpoint;
import io.guardedtuning.session.ClientAudit;
import io.guardedtuning.session.ClientSession;
import io.guardedtuning.session.PlainKafkaTransport;
import io.guardedtuning.session.RemoteBackboneLink;
import io.guardedtuning.session.SessionKeys;
import io.guardedtuning.session.SessionSettings;
import io.guardedtuning.session.SplitLanguageModel;
import io.guardedtuning.session.SplitProtocol;
import io.guardedtuning.split.ActivationRegularizer;
import io.guardedtuning.split.BackboneServer;
import io.guardedtuning.split.ClientSplitTrainer;
import io.guardedtuning.tensor.HostTensor;
import io.guardedtuning.tokenizer.Gpt2Vocabulary;
import io.guardedtuning.train.AdamW;
import io.guardedtuning.train.LearningRateSchedule;
import io.guardedtuning.train.TaskBatches;
import io.guardedtuning.wire.WireLimits;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;

import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * Real split-learning traffic for the audit tests, made with core's client/server protocol over the broker: a
 * server loop (as server-compute runs it) and client sessions that keep their rows and score the auditor's
 * reconstructions themselves (core's {@link ClientAudit}); each client keeps listening to its down topic until
 * this closes, so the auditor may attack after the traffic was made.
 */
final class SplitTraffic implements AutoCloseable {

    static final WireLimits LIMITS = WireLimits.chunkedDefaults();

    /** Real English sentences with a yes/no label: the client's private fine-tuning data. */
    static final List<String> SENTENCES = List.of(
            "The children walked to school along the river and stopped to watch the boats.",
            "My sister bought fresh bread and cheese at the market on Saturday morning.",
            "The committee will meet next week to discuss the budget for the new library.",
            "We cooked a simple dinner of pasta with tomato sauce and a green salad.",
            "The train to the city was late because of the heavy snow in the hills.",
            "Scientists measured the temperature of the water every day for a whole year.",
            "He forgot his keys at the office and had to wait for his wife to come home.",
            "The old man told the story of the war to anyone who would listen.",
            "Our team won the final game of the season in front of a large crowd.",
            "Please send your questions to the secretary before the end of the month.",
            "The birds returned in spring and built their nests in the tall trees.",
            "She practised the piano every evening and played at the school concert.");

    final Gpt2Vocabulary vocabulary;
    final OptConfig config;
    final Map<String, HostTensor> weights;
    final SessionKeys keys;
    private final EmbeddedKafkaBroker broker;
    private final Split split;
    private final OptModel trunk;
    private final KafkaProducer<String, byte[]> serverProducer;
    private final KafkaProducer<String, byte[]> clientProducer;
    private final PlainKafkaTransport.PollLoop server;
    private final List<PlainKafkaTransport.PollLoop> clients = new java.util.ArrayList<>();

    /** A finished client run, whose audit keeps scoring reconstructions as they arrive. */
    record ClientRun(ClientSession.Summary summary, ClientAudit audit, List<int[]> rows) {
    }

    SplitTraffic(EmbeddedKafkaBroker broker, Gpt2Vocabulary vocabulary, OptConfig config,
                 Map<String, HostTensor> weights, SessionKeys keys, int k) {
        this.broker = broker;
        this.vocabulary = vocabulary;
        this.config = config;
        this.weights = weights;
        this.keys = keys;
        this.split = Split.of(k, config);
        this.trunk = OptModel.fromTensors(config, HostTensor.select(weights, split.backbone()));
        this.serverProducer = producer(broker);
        this.clientProducer = producer(broker);
        this.server = PlainKafkaTransport.serve(broker.bootstrapServers(), LIMITS, new BackboneEndpoint(
                new BackboneServer(trunk, split, 8), keys, LIMITS, "server-test", Clock.systemUTC()), serverProducer);
    }

    static List<McExample> task() {
        List<McExample> out = new java.util.ArrayList<>();
        for (int i = 0; i < SENTENCES.size(); i++) {
            out.add(new McExample("t" + i, SENTENCES.get(i) + " Is this about people?", List.of(" no", " yes"),
                    i % 3 == 0 ? 0 : 1));
        }
        return out;
    }

    /**
     * Runs one client session to its end: {@code evalSteps} forward-only evaluation steps first (pass
     * {@code eval-before}, numbered from 0 like training's), then training; rows kept per the settings' audit-every.
     */
    ClientRun runClient(SessionSettings s, ActivationRegularizer regularizer, int evalSteps) throws Exception {
        String session = s.sessionId();
        broker.createTopics(LIMITS.topicConfig(), Topics.sessionDown(session));
        McEncoder encoder = new McEncoder(vocabulary.tokenizer(), vocabulary.bosTokenId(), 40);
        RemoteBackboneLink.RecordSink sink = records -> records.forEach(clientProducer::send);
        ClientAudit audit = new ClientAudit(keys.forSession(session), "client-test", LIMITS,
                new AuditedSteps(s.auditEvery(), 64), sink, Clock.systemUTC());
        List<int[]> rows = new java.util.ArrayList<>();
        try (OptModel client = OptModel.fromTensors(config, HostTensor.select(weights, split.client()));
             ClientSplitTrainer trainer = new ClientSplitTrainer(client, split, s.design(),
                     new AdamW.Settings(0.9f, 0.999f, 1e-8f, 0f, 1f),
                     LearningRateSchedule.constant(s.learningRate()), regularizer, true)) {
            RemoteBackboneLink link = new RemoteBackboneLink(keys.forSession(session), "client-test", LIMITS,
                    new RemoteBackboneLink.Settings(s.bitsUp(), s.bitsDown(), s.gradientBitsUp(),
                            s.gradientBitsDown(), Duration.ofSeconds(20), 3), sink, Clock.systemUTC());
            clients.add(PlainKafkaTransport.listen(broker.bootstrapServers(), LIMITS, link, audit));
            KnownDefence defence = new KnownDefence(s.design().id(), s.bitsUp() >= 32 ? 0 : s.bitsUp(), 0f, s.alpha(),
                    s.learningRate(), "none");
            long started = System.currentTimeMillis();
            if (evalSteps > 0) {
                link.start(started, SplitProtocol.EVAL_BEFORE, defence);
                SplitLanguageModel eval = new SplitLanguageModel(client, split, link, SplitProtocol.EVAL_BEFORE,
                        audit.steps());
                TaskBatches evalBatches = new TaskBatches(task(), encoder, s.batchSize(), s.seed() + 1);
                try (NDManager nd = NDManager.newBaseManager()) {
                    for (int i = 0; i < evalSteps; i++) {
                        TaskBatches.Batch b = evalBatches.next();
                        try (TokenBatch batch = TokenBatch.of(nd, b.sequences(), b.lossFrom(), config.padTokenId())) {
                            eval.logits(batch).close();
                        }
                    }
                }
            }
            link.start(started + 1, SplitProtocol.TRAIN, defence);
            TaskBatches batches = new TaskBatches(task(), encoder, s.batchSize(), s.seed());
            AuditSink keep = audit.steps();
            ClientSession.Summary summary = ClientSession.train(s, trainer, batches, link, null,
                    (pass, step, sequences, crossed) -> {
                        rows.addAll(sequences);
                        keep.step(pass, step, sequences, crossed);
                    }, r -> { });
            clientProducer.flush();
            return new ClientRun(summary, audit, rows);
        }
    }

    static KafkaConsumer<String, byte[]> consumer(EmbeddedKafkaBroker broker, String group) {
        return PlainKafkaTransport.consumer(broker.bootstrapServers(), LIMITS, group, "earliest");
    }

    static KafkaProducer<String, byte[]> producer(EmbeddedKafkaBroker broker) {
        return PlainKafkaTransport.producer(broker.bootstrapServers(), LIMITS);
    }

    @Override
    public void close() throws InterruptedException {
        for (PlainKafkaTransport.PollLoop c : clients) {
            c.close();
        }
        clientProducer.close();
        server.close();
        serverProducer.close();
        trunk.close();
    }
}
