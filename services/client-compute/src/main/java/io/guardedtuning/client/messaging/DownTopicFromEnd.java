package io.guardedtuning.client.messaging;

import io.guardedtuning.client.service.SessionService;
import io.smallrye.common.annotation.Identifier;
import io.smallrye.reactive.messaging.kafka.KafkaConsumerRebalanceListener;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.common.TopicPartition;

import java.util.Collection;

/**
 * Starts the down topic at its end on every assignment, committed offsets or not: a restarted client must never
 * take a previous run's answers for its own. Resolving the positions here, before the session sends anything, also
 * means no answer can slip in between the first request and the consumer's first fetch.
 */
@ApplicationScoped
@Identifier(DownTopicFromEnd.NAME)
public class DownTopicFromEnd implements KafkaConsumerRebalanceListener {

    /** Referenced by {@code mp.messaging.incoming.session-down.consumer-rebalance-listener.name}. */
    public static final String NAME = "session-down-from-end";

    @Inject
    SessionService session;

    @Override
    public void onPartitionsAssigned(Consumer<?, ?> consumer, Collection<TopicPartition> partitions) {
        consumer.seekToEnd(partitions);
        partitions.forEach(consumer::position);
        if (!partitions.isEmpty()) {
            session.downTopicPositioned();
        }
    }
}
