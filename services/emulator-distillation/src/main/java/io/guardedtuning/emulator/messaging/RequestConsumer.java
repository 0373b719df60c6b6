package io.guardedtuning.emulator.messaging;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.guardedtuning.emulator.service.JobService;
import io.guardedtuning.offline.EmulatorRequest;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.reactive.messaging.Incoming;
import org.jboss.logging.Logger;

/** Reads {@code gt.emulator.requests}; only queues work, so it never holds the consumer thread. */
@ApplicationScoped
public class RequestConsumer {

    private static final Logger LOG = Logger.getLogger(RequestConsumer.class);

    @Inject
    ObjectMapper json;

    @Inject
    JobService jobs;

    @Incoming("emulator-requests")
    public void onRequest(String body) {
        try {
            EmulatorRequest request = json.readValue(body, EmulatorRequest.class);
            if (request.isCancel()) {
                jobs.cancel(request.session());
            } else {
                jobs.submit(request);
            }
        } catch (Exception e) {
            // A bad request must not stop the channel: report it and move on.
            LOG.warnf("ignoring emulator request %s: %s", body, e.getMessage());
        }
    }
}
