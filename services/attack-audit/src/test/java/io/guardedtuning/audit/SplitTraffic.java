package io.guardedtuning.audit;

import io.guardedtuning.attack.KnownDefence;
import io.guardedtuning.session.SplitProtocol;
import io.guardedtuning.data.McExample;
import io.guardedtuning.eval.McEncoder;
import io.guardedtuning.kafka.EmbeddedKafkaBroker;
import io.guardedtuning.messaging.Topics;
import io.guardedtuning.model.OptConfig;
import io.guardedtuning.model.OptModel;
import io.guardedtuning.model.Split;
import io.guardedtuning.session.AuditSamples;
import io.guardedtuning.session.BackboneEndpoint;
import io.guardedtuning.session.ClientSession;
import io.guardedtuning.session.PlainKafkaTransport;
import io.guardedtuning.session.RemoteBackboneLink;
import io.guardedtuning.session.SessionKeys;
import io.guardedtuning.session.SessionSettings;
import io.guardedtuning.split.ActivationRegularizer;
import io.guardedtuning.split.BackboneServer;
import io.guardedtuning.split.ClientSplitTrainer;
import io.guardedtuning.tensor.HostTensor;
import io.guardedtuning.tokenizer.Gpt2Vocabulary;
import io.guardedtuning.train.AdamW;
import io.guardedtuning.train.LearningRateSchedule;
import io.guardedtuning.train.TaskBatches;
import io.guardedtuning.wire.TensorEventWriter;
import io.guardedtuning.wire.WireLimits;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;

import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * Real split-learning traffic for the audit tests, made with core's client/server protocol over the broker: a
 * server loop (as server-compute runs it) and client sessions that publish ground truth for the auditor.
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
    private final PlainKafkaTransport.PollLoop server;

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

    /** Runs one client session to its end (ground truth published per the settings' audit-every). */
    ClientSession.Summary runClient(SessionSettings s, ActivationRegularizer regularizer) throws Exception {
        String session = s.sessionId();
        broker.createTopics(LIMITS.topicConfig(), Topics.sessionDown(session));
        McEncoder encoder = new McEncoder(vocabulary.tokenizer(), vocabulary.bosTokenId(), 40);
        try (KafkaProducer<String, byte[]> p = producer(broker);
             OptModel client = OptModel.fromTensors(config, HostTensor.select(weights, split.client()));
             ClientSplitTrainer trainer = new ClientSplitTrainer(client, split, s.design(),
                     new AdamW.Settings(0.9f, 0.999f, 1e-8f, 0f, 1f),
                     LearningRateSchedule.constant(s.learningRate()), regularizer, true)) {
            RemoteBackboneLink link = new RemoteBackboneLink(keys.forSession(session), "client-test", LIMITS,
                    new RemoteBackboneLink.Settings(s.bitsUp(), s.bitsDown(), s.gradientBitsUp(),
                            s.gradientBitsDown(), Duration.ofSeconds(20), 3),
                    records -> records.forEach(p::send), Clock.systemUTC());
            try (PlainKafkaTransport.PollLoop down = PlainKafkaTransport.listen(broker.bootstrapServers(), LIMITS,
                    link)) {
                link.start(System.currentTimeMillis(), SplitProtocol.TRAIN,
                        KnownDefence.NONE);
                TaskBatches batches = new TaskBatches(task(), encoder, s.batchSize(), s.seed());
                return ClientSession.train(s, trainer, batches, link, null, AuditSamples.publisher(
                        new TensorEventWriter("client-test", keys.forSession(session), LIMITS),
                        records -> records.forEach(p::send)), r -> { });
            } finally {
                p.flush();
            }
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
        server.close();
        serverProducer.close();
        trunk.close();
    }
}
