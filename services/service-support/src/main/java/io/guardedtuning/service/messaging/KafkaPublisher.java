package io.guardedtuning.service.messaging;

import io.guardedtuning.wire.WireLimits;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Publishes the records core's protocol classes produce, each to the topic, with the key and headers, it names
 * (answers to per-session topics, dead letters, audit scores). A plain producer rather than an emitter channel
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

    /**
     * Sends and waits until the broker has every record, for results a process must not exit before delivering.
     *
     * @throws IOException naming the topic when Kafka refuses a record or does not answer within the timeout
     */
    public void sendAndAwait(List<ProducerRecord<String, byte[]>> records, Duration timeout)
            throws IOException, InterruptedException {
        List<Future<RecordMetadata>> acks = records.stream().map(producer::send).toList();
        long deadline = System.nanoTime() + timeout.toNanos();
        for (int i = 0; i < acks.size(); i++) {
            try {
                acks.get(i).get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            } catch (ExecutionException e) {
                failures.incrementAndGet();
                throw new IOException("Kafka refused a record for " + records.get(i).topic() + ": "
                        + e.getCause().getMessage(), e.getCause());
            } catch (TimeoutException e) {
                throw new IOException("Kafka did not acknowledge the records for " + records.get(i).topic()
                        + " within " + timeout, e);
            }
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
