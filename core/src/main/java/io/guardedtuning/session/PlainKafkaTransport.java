package io.guardedtuning.session;

import io.guardedtuning.messaging.Topics;
import io.guardedtuning.wire.WireLimits;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * The split protocol over plain Kafka clients, for tools, benchmarks and tests that run both parties in one JVM.
 * (The services move the same records with SmallRye Reactive Messaging.)
 */
public final class PlainKafkaTransport {

    private static final Logger LOG = LoggerFactory.getLogger(PlainKafkaTransport.class);

    /** The consumer group of every backbone replica: Kafka spreads the sessions' partitions over them. */
    public static final String SERVER_GROUP = "server-compute";

    /**
     * How long a send may block for metadata or buffer space. Kafka's 60 s default would hold a step far past the
     * link's own timeout when the broker is unreachable; records already buffered still wait out a broker restart.
     */
    private static final int MAX_BLOCK_MS = 5_000;

    private PlainKafkaTransport() {
    }

    public static KafkaProducer<String, byte[]> producer(String bootstrap, WireLimits limits) {
        Map<String, Object> config = new HashMap<>(limits.producerProperties());
        config.put("bootstrap.servers", bootstrap);
        config.put("max.block.ms", MAX_BLOCK_MS);
        return new KafkaProducer<>(config, new StringSerializer(), new ByteArraySerializer());
    }

    public static KafkaConsumer<String, byte[]> consumer(String bootstrap, WireLimits limits, String group,
                                                         String offsetReset) {
        return consumer(bootstrap, limits, group, offsetReset, Map.of());
    }

    private static KafkaConsumer<String, byte[]> consumer(String bootstrap, WireLimits limits, String group,
                                                          String offsetReset, Map<String, Object> extra) {
        Map<String, Object> config = new HashMap<>(limits.consumerProperties());
        config.putAll(extra);
        config.put("bootstrap.servers", bootstrap);
        config.put("group.id", group);
        config.put("auto.offset.reset", offsetReset);
        return new KafkaConsumer<>(config, new StringDeserializer(), new ByteArrayDeserializer());
    }

    /**
     * A thread polling {@code topics} and handing every record to {@code handler} until closed. The constructor
     * returns once the consumer holds its partitions and knows its positions, so nothing sent afterwards is missed
     * (which matters for a consumer that starts at the latest offset).
     */
    public static final class PollLoop implements AutoCloseable {
        private final AtomicBoolean running = new AtomicBoolean(true);
        private final java.util.concurrent.CountDownLatch assigned = new java.util.concurrent.CountDownLatch(1);
        private final Thread thread;

        public PollLoop(String name, KafkaConsumer<String, byte[]> consumer, List<String> topics,
                        Consumer<ConsumerRecord<String, byte[]>> handler, Runnable afterPoll) {
            this(name, consumer, topics, handler, afterPoll, false);
        }

        /**
         * With {@code commit}, the group's offsets move past each polled batch once it is handled and
         * {@code afterPoll} (which flushes the answers) has returned: at-least-once, and a replica that takes over
         * (restart, rebalance) resumes there instead of re-reading the topics' whole retention.
         */
        public PollLoop(String name, KafkaConsumer<String, byte[]> consumer, List<String> topics,
                        Consumer<ConsumerRecord<String, byte[]>> handler, Runnable afterPoll, boolean commit) {
            thread = new Thread(() -> {
                try (consumer) {
                    consumer.subscribe(topics);
                    while (running.get()) {
                        if (assigned.getCount() > 0 && !consumer.assignment().isEmpty()) {
                            consumer.assignment().forEach(consumer::position);
                            assigned.countDown();
                        }
                        ConsumerRecords<String, byte[]> records = consumer.poll(Duration.ofMillis(50));
                        records.forEach(r -> handleSafely(name, handler, r));
                        afterPoll.run();
                        if (commit && !records.isEmpty()) {
                            // Async: a commit lost to a broker outage only means a few records are handled again.
                            consumer.commitAsync();
                        }
                    }
                }
            }, name);
            thread.setDaemon(true);
            thread.start();
            try {
                if (!assigned.await(60, java.util.concurrent.TimeUnit.SECONDS)) {
                    throw new IllegalStateException(name + ": no partitions of " + topics + " assigned in 60 s");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(name + " interrupted while joining its group", e);
            }
        }

        /** A handler that throws on one record (a bug) is reported; the loop goes on with the next record. */
        private static void handleSafely(String name, Consumer<ConsumerRecord<String, byte[]>> handler,
                                         ConsumerRecord<String, byte[]> record) {
            try {
                handler.accept(record);
            } catch (RuntimeException e) {
                LOG.error("{} failed on {}[{}]@{}; moving on", name, record.topic(), record.partition(),
                        record.offset(), e);
            }
        }

        @Override
        public void close() throws InterruptedException {
            running.set(false);
            thread.join(10_000);
        }
    }

    /** The provider's side: consume the up topics, answer through the endpoint. */
    public static PollLoop serve(String bootstrap, WireLimits limits, BackboneEndpoint endpoint,
                                 KafkaProducer<String, byte[]> producer) {
        return serve(bootstrap, limits, "backbone", r -> endpoint.handle(r).forEach(producer::send), producer);
    }

    /**
     * One backbone replica in the {@link #SERVER_GROUP} group, named {@code replica} (its Kafka client id), handing
     * each up record to {@code handler}, which sends the answers through {@code producer}.
     */
    public static PollLoop serve(String bootstrap, WireLimits limits, String replica,
                                 Consumer<ConsumerRecord<String, byte[]>> handler,
                                 KafkaProducer<String, byte[]> producer) {
        return new PollLoop(replica + "-loop", consumer(bootstrap, limits, SERVER_GROUP, "earliest",
                Map.of("client.id", replica)), List.of(Topics.ACTIVATIONS_UP, Topics.GRADIENTS_UP), handler,
                producer::flush, true);
    }

    /** The client's side: feed its session's down topic into the link, reading only what comes after now. */
    public static PollLoop listen(String bootstrap, WireLimits limits, RemoteBackboneLink link) {
        return listen(bootstrap, limits, link.session(), link::onRecord);
    }

    /**
     * The client's side with its audit: reconstructions of its sampled steps go to {@code audit}, everything else
     * to the link.
     */
    public static PollLoop listen(String bootstrap, WireLimits limits, RemoteBackboneLink link, ClientAudit audit) {
        return listen(bootstrap, limits, link.session(), audit.routing(link::onRecord));
    }

    private static PollLoop listen(String bootstrap, WireLimits limits, String session,
                                   Consumer<ConsumerRecord<String, byte[]>> handler) {
        return new PollLoop("client-down-" + session, consumer(bootstrap, limits,
                "gt.session." + session + ".client-" + System.nanoTime(), "latest"),
                List.of(Topics.sessionDown(session)), handler, () -> { });
    }
}
