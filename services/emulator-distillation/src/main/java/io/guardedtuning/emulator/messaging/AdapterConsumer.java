package io.guardedtuning.emulator.messaging;

import io.guardedtuning.emulator.service.JobService;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.eclipse.microprofile.reactive.messaging.Incoming;

/** Reads {@code gt.adapters.up}: tuned adapters coming back from clients (chunks of ADAPTER events). */
@ApplicationScoped
public class AdapterConsumer {

    @Inject
    JobService jobs;

    @Incoming("adapters-up")
    public void onRecord(ConsumerRecord<String, byte[]> record) {
        jobs.onAdapterRecord(record);
    }
}
