package io.guardedtuning.client.messaging;

import io.guardedtuning.client.service.SessionService;
import io.guardedtuning.service.messaging.KafkaRecords;
import io.smallrye.common.annotation.Blocking;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.eclipse.microprofile.reactive.messaging.Incoming;

/** The session's down topic: answers, resend requests (verification and matching are the link's). */
@ApplicationScoped
public class SessionDownConsumer {

    /** Channel of {@code gt.session.<id>.down}. */
    public static final String SESSION_DOWN = "session-down";

    @Inject
    SessionService session;

    @Incoming(SESSION_DOWN)
    @Blocking
    public void onRecord(ConsumerRecord<String, byte[]> record) {
        session.onDownRecord(KafkaRecords.withSizes(record));
    }
}
