package io.guardedtuning.audit.messaging;

import io.guardedtuning.audit.service.AuditService;
import io.smallrye.reactive.messaging.annotations.Blocking;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.eclipse.microprofile.reactive.messaging.Incoming;

/** Feeds every tapped record, in order, to the audit; verification and dead-lettering happen there. */
@ApplicationScoped
public class AuditTap {

    @Inject
    AuditService audit;

    @Incoming(AuditChannels.TAP)
    @Blocking(ordered = true) // one record at a time, in order: the verifier refuses out-of-order steps
    public void onRecord(ConsumerRecord<String, byte[]> record) {
        audit.onRecord(record);
    }
}
