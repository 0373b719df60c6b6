package io.guardedtuning.emulator.messaging;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.smallrye.reactive.messaging.kafka.api.OutgoingKafkaRecordMetadata;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.eclipse.microprofile.reactive.messaging.Channel;
import org.eclipse.microprofile.reactive.messaging.Emitter;
import org.eclipse.microprofile.reactive.messaging.Message;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** Everything the service produces: signed wire records (any topic, headers kept) and progress JSON. */
@ApplicationScoped
public class WireOut {

    private static final long SEND_TIMEOUT_SECONDS = 60;

    @Inject
    @Channel("wire-out")
    Emitter<byte[]> wire;

    @Inject
    @Channel("emulator-progress")
    Emitter<String> progress;

    @Inject
    ObjectMapper json;

    /** Sends the records in order and waits until the broker has them all. */
    public void sendAll(List<ProducerRecord<String, byte[]>> records) {
        List<CompletableFuture<Void>> acks = records.stream().map(this::send).toList();
        for (CompletableFuture<Void> ack : acks) {
            await(ack);
        }
    }

    public CompletableFuture<Void> send(ProducerRecord<String, byte[]> record) {
        CompletableFuture<Void> acked = new CompletableFuture<>();
        OutgoingKafkaRecordMetadata<String> metadata = OutgoingKafkaRecordMetadata.<String>builder()
                .withTopic(record.topic()).withKey(record.key()).withHeaders(record.headers()).build();
        wire.send(Message.of(record.value()).addMetadata(metadata)
                .withAck(() -> {
                    acked.complete(null);
                    return CompletableFuture.completedFuture(null);
                })
                .withNack(failure -> {
                    acked.completeExceptionally(failure);
                    return CompletableFuture.completedFuture(null);
                }));
        return acked;
    }

    public void progress(ProgressEvent event) {
        try {
            String body = json.writeValueAsString(event);
            progress.send(Message.of(body).addMetadata(
                    OutgoingKafkaRecordMetadata.<String>builder().withKey(event.session()).build()));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("progress event is not serialisable", e);
        }
    }

    private static void await(CompletableFuture<Void> ack) {
        try {
            ack.get(SEND_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw new IllegalStateException("Kafka refused a record: " + e.getCause().getMessage(), e.getCause());
        } catch (TimeoutException e) {
            throw new IllegalStateException("Kafka did not acknowledge a record within " + SEND_TIMEOUT_SECONDS + " s");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while sending", e);
        }
    }
}
