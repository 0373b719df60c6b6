package io.guardedtuning.faults;

import io.guardedtuning.attack.KnownDefence;
import io.guardedtuning.session.SplitProtocol;
import io.guardedtuning.data.McExample;
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
import io.guardedtuning.session.RemoteBackboneLink.RecordSink;
import io.guardedtuning.session.SessionKeys;
import io.guardedtuning.session.SessionSettings;
import io.guardedtuning.split.ActivationRegularizer;
import io.guardedtuning.split.BackboneLink;
import io.guardedtuning.split.BackboneServer;
import io.guardedtuning.split.ClientSplitTrainer;
import io.guardedtuning.split.ClientStep;
import io.guardedtuning.split.Design;
import io.guardedtuning.split.InProcessLink;
import io.guardedtuning.tensor.HostTensor;
import io.guardedtuning.tokenizer.Gpt2Vocabulary;
import io.guardedtuning.train.AdamW;
import io.guardedtuning.train.LearningRateSchedule;
import io.guardedtuning.train.TaskBatches;
import io.guardedtuning.wire.EventKind;
import io.guardedtuning.wire.WireHeaders;
import io.guardedtuning.wire.WireLimits;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.common.utils.Utils;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * What the fault tests share: a tiny random OPT, a hand-made task, server replicas with hooks, a client run over
 * Kafka with an interposable sink, and the undisturbed in-process reference run the disturbed runs must equal.
 */
public final class SplitSessionFixture {

    public static final Gpt2Vocabulary VOCAB = Gpt2Vocabulary.truncated(60);
    public static final OptConfig CONFIG = OptConfig.of(VOCAB.vocabSize(), 32, 6, 64, 4, 64)
            .withSpecialTokens(VOCAB.padTokenId(), VOCAB.bosTokenId(), VOCAB.eosTokenId());
    public static final WireLimits LIMITS = WireLimits.chunkedDefaults();
    public static final SessionKeys KEYS = new SessionKeys(new byte[32]);
    public static final Map<String, HostTensor> WEIGHTS = OptModel.randomTensors(CONFIG, 11, n -> true);
    private static final AdamW.Settings ADAM = new AdamW.Settings(0.9f, 0.999f, 1e-8f, 0f, 1f);

    private SplitSessionFixture() {
    }

    public static List<McExample> task() {
        List<McExample> out = new ArrayList<>();
        for (int i = 0; i < 24; i++) {
            boolean yes = i % 2 == 0;
            out.add(new McExample("e" + i, (yes ? "sun " : "rain ") + i + " ->", List.of(" no", " yes"),
                    yes ? 1 : 0));
        }
        return out;
    }

    public static String sessionId(String prefix) {
        return prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
    }

    /** An Online session of {@code steps} steps of 4 sequences, fp32 on the wire (bit-exact, so comparable). */
    public static SessionSettings online(String sessionId, int steps) {
        return online(sessionId, steps, 1);
    }

    /** The same with its own batch order. */
    public static SessionSettings online(String sessionId, int steps, long seed) {
        return new SessionSettings(sessionId, Design.ONLINE, 2, 0f, 32, 32, 32, 32, 4, 5e-3f, 1, seed, 0, 0, steps);
    }

    /** A header's value as text, or null. */
    public static String header(ConsumerRecord<String, byte[]> record, String name) {
        var h = record.headers().lastHeader(name);
        return h == null || h.value() == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }

    /** True for {@code session}'s {@code kind} events at {@code step} (any attempt). */
    public static boolean isEvent(ConsumerRecord<String, byte[]> r, String session, EventKind kind, long step) {
        return session.equals(r.key()) && kind.name().equals(header(r, WireHeaders.KIND))
                && Long.toString(step).equals(header(r, WireHeaders.STEP));
    }

    /** The outcome of one client run. */
    public record ClientRun(Map<String, HostTensor> adapters, ClientSession.Summary summary, long optimizerSteps,
                            RemoteBackboneLink.Stats link) {
    }

    /** How the client's link waits, and what a test interposes on its sends and between its steps. */
    public record LinkSetup(Duration timeout, int maxAttempts, UnaryOperator<RecordSink> sink,
                            Consumer<ClientStep> progress) {
        public static LinkSetup patient() {
            return new LinkSetup(Duration.ofSeconds(20), 3, UnaryOperator.identity(), step -> { });
        }

        public LinkSetup retrying(Duration wait, int attempts) {
            return new LinkSetup(wait, attempts, sink, progress);
        }

        public LinkSetup withSink(UnaryOperator<RecordSink> decorator) {
            return new LinkSetup(timeout, maxAttempts, decorator, progress);
        }

        public LinkSetup withProgress(Consumer<ClientStep> hook) {
            return new LinkSetup(timeout, maxAttempts, sink, hook);
        }
    }

    /** The undisturbed reference: the same client against the backbone in this process, no network. */
    public static ClientRun runInProcess(SessionSettings s) throws Exception {
        Split split = s.split(CONFIG);
        try (OptModel trunk = OptModel.fromTensors(CONFIG, HostTensor.select(WEIGHTS, split.backbone()));
             BackboneServer server = new BackboneServer(trunk, split, 8)) {
            return train(s, new InProcessLink(server, s.sessionId()), step -> { }, null);
        }
    }

    /** A client run over Kafka against whatever replicas serve the up topics. */
    public static ClientRun runOverKafka(EmbeddedKafkaBroker broker, SessionSettings s, LinkSetup setup)
            throws Exception {
        String session = s.sessionId();
        broker.createTopics(LIMITS.topicConfig(), Topics.sessionDown(session));
        try (KafkaProducer<String, byte[]> producer = PlainKafkaTransport.producer(broker.bootstrapServers(),
                LIMITS)) {
            RemoteBackboneLink link = new RemoteBackboneLink(KEYS.forSession(session), "client-" + session, LIMITS,
                    new RemoteBackboneLink.Settings(s.bitsUp(), s.bitsDown(), s.gradientBitsUp(),
                            s.gradientBitsDown(), setup.timeout(), setup.maxAttempts()),
                    setup.sink().apply(records -> records.forEach(producer::send)), Clock.systemUTC());
            try (PlainKafkaTransport.PollLoop down = PlainKafkaTransport.listen(broker.bootstrapServers(), LIMITS,
                    link)) {
                link.start(System.currentTimeMillis(), SplitProtocol.TRAIN,
                        KnownDefence.NONE);
                return train(s, link, setup.progress(), link);
            }
        }
    }

    private static ClientRun train(SessionSettings s, BackboneLink link, Consumer<ClientStep> progress,
                                   RemoteBackboneLink remote) throws Exception {
        Split split = s.split(CONFIG);
        try (OptModel client = OptModel.fromTensors(CONFIG, HostTensor.select(WEIGHTS, split.client()));
             ClientSplitTrainer trainer = new ClientSplitTrainer(client, split, s.design(), ADAM,
                     LearningRateSchedule.constant(s.learningRate()), ActivationRegularizer.NONE, true)) {
            TaskBatches batches = new TaskBatches(task(), new McEncoder(VOCAB.tokenizer(), VOCAB.bosTokenId(), 32),
                    s.batchSize(), s.seed());
            ClientSession.Summary summary = ClientSession.train(s, trainer, batches, link, null, AuditSink.NONE,
                    progress);
            return new ClientRun(client.toTensors(trainer.trainable().keySet()::contains), summary,
                    trainer.optimizer().step(), remote == null ? null : remote.stats());
        }
    }

    /**
     * Bit-identical adapters, and exactly the expected steps: every fault here is on the wire or the server, whose
     * fp32 math is deterministic and which holds no state the client's result depends on, so nothing may differ.
     */
    public static void assertSameRun(ClientRun expected, ClientRun actual) {
        long steps = expected.summary().steps();
        assertEquals(steps, actual.summary().steps(), "steps run");
        assertEquals(steps, actual.summary().losses().size(), "loss history length");
        assertEquals(expected.optimizerSteps(), actual.optimizerSteps(), "optimizer updates");
        assertEquals(expected.summary().losses(), actual.summary().losses(), "loss history");
        assertEquals(expected.adapters().keySet(), actual.adapters().keySet());
        expected.adapters().forEach((name, want) -> {
            float[] got = actual.adapters().get(name).data();
            for (int i = 0; i < want.data().length; i++) {
                assertEquals(Float.floatToRawIntBits(want.data()[i]), Float.floatToRawIntBits(got[i]),
                        () -> name + " differs from the undisturbed run");
            }
        });
    }

    /** Creates topics with at least {@code partitions} partitions, growing existing ones. */
    public static void ensurePartitions(EmbeddedKafkaBroker broker, int partitions, String... topics)
            throws Exception {
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", broker.bootstrapServers()))) {
            Set<String> existing = admin.listTopics().names().get();
            for (String topic : topics) {
                if (!existing.contains(topic)) {
                    admin.createTopics(List.of(new NewTopic(topic, partitions, (short) 1)
                            .configs(LIMITS.topicConfig()))).all().get();
                } else if (admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic).partitions().size()
                        < partitions) {
                    admin.createPartitions(Map.of(topic, NewPartitions.increaseTo(partitions))).all().get();
                }
            }
        }
    }

    /** The partition Kafka's default partitioner gives a session's records (key = session id). */
    public static int partitionOf(String sessionId, int partitions) {
        return Utils.toPositive(Utils.murmur2(sessionId.getBytes(StandardCharsets.UTF_8))) % partitions;
    }

    /**
     * One backbone replica as server-compute runs it, with two hooks: {@code beforeHandle} sees every consumed
     * record first (a throw there is a crash: the record is consumed, never answered nor committed), and
     * {@code output} decorates the sink its answers and dead letters go to.
     */
    public static final class ServerReplica implements AutoCloseable {
        private final OptModel trunk;
        private final KafkaProducer<String, byte[]> producer;
        private final BackboneEndpoint endpoint;
        private final PlainKafkaTransport.PollLoop loop;
        private final Map<String, AtomicLong> handled = new ConcurrentHashMap<>();

        public ServerReplica(EmbeddedKafkaBroker broker, String name) {
            this(broker, name, record -> { }, UnaryOperator.identity());
        }

        public ServerReplica(EmbeddedKafkaBroker broker, String name,
                             Consumer<ConsumerRecord<String, byte[]>> beforeHandle, UnaryOperator<RecordSink> output) {
            ensureSharedTopics(broker);
            Split split = Split.of(2, CONFIG);
            trunk = OptModel.fromTensors(CONFIG, HostTensor.select(WEIGHTS, split.backbone()));
            producer = PlainKafkaTransport.producer(broker.bootstrapServers(), LIMITS);
            endpoint = new BackboneEndpoint(new BackboneServer(trunk, split, 8), KEYS, LIMITS, name,
                    Clock.systemUTC());
            RecordSink sink = output.apply(records -> records.forEach(producer::send));
            loop = PlainKafkaTransport.serve(broker.bootstrapServers(), LIMITS, name, record -> {
                beforeHandle.accept(record);
                handled.computeIfAbsent(String.valueOf(record.key()), k -> new AtomicLong()).incrementAndGet();
                sink.send(endpoint.handle(record));
            }, producer);
        }

        public BackboneEndpoint endpoint() {
            return endpoint;
        }

        /** Records of {@code session} this replica handled. */
        public long handled(String session) {
            AtomicLong n = handled.get(session);
            return n == null ? 0 : n.get();
        }

        @Override
        public void close() throws InterruptedException {
            loop.close();
            producer.close();
            trunk.close();
        }
    }

    /** Created up front: auto-creation on first use costs seconds and a metadata warning storm. */
    static void ensureSharedTopics(EmbeddedKafkaBroker broker) {
        broker.createTopics(LIMITS.topicConfig(), Topics.ACTIVATIONS_UP, Topics.GRADIENTS_UP, Topics.DEAD_LETTER);
    }
}
