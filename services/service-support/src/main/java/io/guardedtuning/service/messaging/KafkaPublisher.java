package io.guardedtuning.service.messaging;

import io.guardedtuning.wire.WireLimits;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.jboss.logging.Logger;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Publishes the records core's protocol classes produce, each to the topic, with the key and headers, it names
 * (answers to per-session topics, dead letters, audit samples). A plain producer rather than an emitter channel
 * because the topic varies per record and the wire's producer limits come from {@link WireLimits}, not from
 * per-channel properties every service would have to repeat. Idempotent with acks=all, so the chunks of one event
 * arrive in order and once.
 */
public final class KafkaPublisher implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(KafkaPublisher.class);

    private final KafkaProducer<String, byte[]> producer;
    private final AtomicLong failures = new AtomicLong();

    public KafkaPublisher(String bootstrapServers, String clientId, WireLimits limits) {
        Map<String, Object> config = new HashMap<>(limits.producerProperties());
        config.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        config.put(ProducerConfig.CLIENT_ID_CONFIG, clientId);
        this.producer = new KafkaProducer<>(config, new StringSerializer(), new ByteArraySerializer());
    }

    /** Sends asynchronously; a record Kafka finally refuses is logged and counted, never thrown at the caller. */
    public void send(List<ProducerRecord<String, byte[]>> records) {
        for (ProducerRecord<String, byte[]> r : records) {
            producer.send(r, (metadata, error) -> {
                if (error != null) {
                    failures.incrementAndGet();
                    LOG.errorf(error, "could not publish a record of session %s to %s", r.key(), r.topic());
                }
            });
        }
    }

    /** Records Kafka refused after its own retries. */
    public long failures() {
        return failures.get();
    }

    @Override
    public void close() {
        producer.close();
    }
}
