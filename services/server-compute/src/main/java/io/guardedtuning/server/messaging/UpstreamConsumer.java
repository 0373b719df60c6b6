package io.guardedtuning.server.messaging;

import io.guardedtuning.server.service.BackboneService;
import io.guardedtuning.service.messaging.KafkaRecords;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.eclipse.microprofile.reactive.messaging.Incoming;

import java.util.concurrent.CompletionStage;

/**
 * The two up topics (group {@code server-compute}); both go to the one backbone thread. A record is acknowledged
 * (its offset committed) once handled, answered or dead-lettered alike, so a bad record never blocks the next.
 */
@ApplicationScoped
public class UpstreamConsumer {

    /** Channel of {@code gt.activations.up} (and the clients' start announcements). */
    public static final String ACTIVATIONS_UP = "activations-up";
    /** Channel of {@code gt.gradients.up}. */
    public static final String GRADIENTS_UP = "gradients-up";

    @Inject
    BackboneService backbone;

    @Incoming(ACTIVATIONS_UP)
    public CompletionStage<Void> activation(ConsumerRecord<String, byte[]> record) {
        return backbone.handle(KafkaRecords.withSizes(record));
    }

    @Incoming(GRADIENTS_UP)
    public CompletionStage<Void> gradient(ConsumerRecord<String, byte[]> record) {
        return backbone.handle(KafkaRecords.withSizes(record));
    }
}
