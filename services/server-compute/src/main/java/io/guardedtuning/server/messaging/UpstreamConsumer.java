package io.guardedtuning.server.messaging;

import io.guardedtuning.server.service.BackboneService;
import io.guardedtuning.service.messaging.KafkaRecords;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.eclipse.microprofile.reactive.messaging.Incoming;

import java.util.concurrent.CompletionStage;

/**
 * The two up topics through one consumer (group {@code server-compute}), so that the group's range assignment gives
 * a replica the same partitions of both, hence both halves of a session's steps; every record goes to the one
 * backbone thread. A record is acknowledged (its offset committed) once handled, answered or dead-lettered alike, so
 * a bad record never blocks the next.
 */
@ApplicationScoped
public class UpstreamConsumer {

    /** Channel of {@code gt.activations.up} (with the clients' start announcements) and {@code gt.gradients.up}. */
    public static final String UP = "up";

    @Inject
    BackboneService backbone;

    @Incoming(UP)
    public CompletionStage<Void> up(ConsumerRecord<String, byte[]> record) {
        return backbone.handle(KafkaRecords.withSizes(record));
    }
}
