package io.guardedtuning.emulator.messaging;

import io.guardedtuning.emulator.service.JobService;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.eclipse.microprofile.reactive.messaging.Incoming;

/**
 * Reads {@code gt.emulator.requests}: signed build and cancel requests (EmulatorRequest). Verifies and queues work
 * only, so it never holds the consumer thread.
 */
@ApplicationScoped
public class RequestConsumer {

    @Inject
    JobService jobs;

    @Incoming("emulator-requests")
    public void onRequest(ConsumerRecord<String, byte[]> record) {
        jobs.onRequestRecord(record);
    }
}
