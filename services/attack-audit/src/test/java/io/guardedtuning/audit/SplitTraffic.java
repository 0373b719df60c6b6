package io.guardedtuning.audit;

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
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;

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
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final Thread server;

    SplitTraffic(EmbeddedKafkaBroker broker, Gpt2Vocabulary vocabulary, OptConfig config,
                 Map<String, HostTensor> weights, SessionKeys keys, int k) {
        this.broker = broker;
        this.vocabulary = vocabulary;
        this.config = config;
        this.weights = weights;
        this.keys = keys;
        this.split = Split.of(k, config);
        OptModel trunk = OptModel.fromTensors(config, part(weights, split.backbone()));
        BackboneEndpoint endpoint = new BackboneEndpoint(new BackboneServer(trunk, split, 8), keys, LIMITS,
                "server-test", Clock.systemUTC());
        server = new Thread(() -> {
            try (KafkaConsumer<String, byte[]> c = consumer(broker, "server-compute");
                 KafkaProducer<String, byte[]> p = producer(broker)) {
                c.subscribe(List.of(Topics.ACTIVATIONS_UP, Topics.GRADIENTS_UP));
                while (running.get()) {
                    for (ConsumerRecord<String, byte[]> r : c.poll(Duration.ofMillis(50))) {
                        endpoint.handle(r).forEach(p::send);
                    }
                    p.flush();
                }
            } finally {
                trunk.close();
            }
        }, "test-server-loop");
        server.start();
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
             OptModel client = OptModel.fromTensors(config, part(weights, split.client()));
             ClientSplitTrainer trainer = new ClientSplitTrainer(client, split, s.design(),
                     new AdamW.Settings(0.9f, 0.999f, 1e-8f, 0f, 1f),
                     LearningRateSchedule.constant(s.learningRate()), regularizer, true)) {
            RemoteBackboneLink link = new RemoteBackboneLink(keys.forSession(session), "client-test", LIMITS,
                    new RemoteBackboneLink.Settings(s.bitsUp(), s.bitsDown(), s.gradientBitsUp(),
                            s.gradientBitsDown(), Duration.ofSeconds(20), 3),
                    records -> records.forEach(p::send), Clock.systemUTC());
            AtomicBoolean listening = new AtomicBoolean(true);
            Thread down = new Thread(() -> {
                try (KafkaConsumer<String, byte[]> c = consumer(broker, "client-" + UUID.randomUUID())) {
                    c.subscribe(List.of(Topics.sessionDown(session)));
                    while (listening.get()) {
                        c.poll(Duration.ofMillis(50)).forEach(link::onRecord);
                    }
                }
            }, "test-client-down");
            down.start();
            try {
                link.start(System.currentTimeMillis());
                TaskBatches batches = new TaskBatches(task(), encoder, s.batchSize(), s.seed());
                return ClientSession.train(s, trainer, batches, link, null, AuditSamples.publisher(
                        new TensorEventWriter("client-test", keys.forSession(session), LIMITS),
                        records -> records.forEach(p::send)), r -> { });
            } finally {
                listening.set(false);
                down.join(10_000);
                p.flush();
            }
        }
    }

    static Map<String, HostTensor> part(Map<String, HostTensor> all, java.util.function.Predicate<String> keep) {
        Map<String, HostTensor> out = new LinkedHashMap<>();
        all.forEach((n, t) -> {
            if (keep.test(n)) {
                out.put(n, t);
            }
        });
        return out;
    }

    static KafkaConsumer<String, byte[]> consumer(EmbeddedKafkaBroker broker, String group) {
        Map<String, Object> c = new HashMap<>(LIMITS.consumerProperties());
        c.put("bootstrap.servers", broker.bootstrapServers());
        c.put("group.id", group);
        return new KafkaConsumer<>(c, new StringDeserializer(), new ByteArrayDeserializer());
    }

    static KafkaProducer<String, byte[]> producer(EmbeddedKafkaBroker broker) {
        Map<String, Object> c = new HashMap<>(LIMITS.producerProperties());
        c.put("bootstrap.servers", broker.bootstrapServers());
        return new KafkaProducer<>(c, new StringSerializer(), new ByteArraySerializer());
    }

    @Override
    public void close() throws InterruptedException {
        running.set(false);
        server.join(10_000);
    }
}
