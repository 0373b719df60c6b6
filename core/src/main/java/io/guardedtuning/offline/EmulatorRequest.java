package io.guardedtuning.offline;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.guardedtuning.messaging.Topics;
import io.guardedtuning.wire.EventKind;
import io.guardedtuning.wire.RejectReason;
import io.guardedtuning.wire.SessionKey;
import io.guardedtuning.wire.TensorEvent;
import io.guardedtuning.wire.TensorEventWriter;
import io.guardedtuning.wire.Verdict;
import io.guardedtuning.wire.WireLimits;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;

import java.util.List;
import java.util.Optional;

/**
 * A request on {@code gt.emulator.requests} (Topics#EMULATOR_REQUESTS), keyed by session, e.g.
 * {@code {"session":"s1","k":2,"kept_layers":8,"distil_steps":2000,"task":"imdb-sentiment"}}, or
 * {@code {"session":"s1","action":"cancel"}}. On the wire it is the JSON payload of one {@code CONTROL} event
 * HMAC'd with the session key like every event ({@link #records}), so only the session's client (or the provider)
 * can ask for or cancel a session's emulator; the event's step is the send time in milliseconds, so the service can
 * refuse a replayed request (not newer than the latest it accepted for the session).
 *
 * @param action "build" (default) or "cancel"
 * @param task   task the plug-in result is evaluated on (any io.guardedtuning.data.TaskRegistry name); optional
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record EmulatorRequest(@JsonProperty("session") String session,
                              @JsonProperty("action") String action,
                              @JsonProperty("k") int k,
                              @JsonProperty("kept_layers") int keptLayers,
                              @JsonProperty("distil_steps") int distilSteps,
                              @JsonProperty("task") String task) {

    public static final String BUILD = "build";
    public static final String CANCEL = "cancel";
    private static final ObjectMapper JSON = new ObjectMapper();

    /** A build request as client-compute sends it when its Offline session starts. */
    public static EmulatorRequest build(String session, int k, int keptLayers, int distilSteps, String task) {
        return new EmulatorRequest(session, BUILD, k, keptLayers, distilSteps, task);
    }

    public static EmulatorRequest cancel(String session) {
        return new EmulatorRequest(session, CANCEL, 0, 0, 0, null);
    }

    public boolean isCancel() {
        return CANCEL.equals(action);
    }

    /** A request that verified under its session's key, and when its sender sent it (the event's step). */
    public record Signed(EmulatorRequest request, long sentMillis) {
    }

    /** This request as the one signed record for {@link Topics#EMULATOR_REQUESTS}, keyed by session. */
    public List<ProducerRecord<String, byte[]>> records(SessionKey key, String source, long sentMillis) {
        if (!key.sessionId().equals(session)) {
            throw new IllegalArgumentException("a request of session " + session + " signed with the key of "
                    + key.sessionId());
        }
        TensorEventWriter writer = new TensorEventWriter(source, key, WireLimits.chunkedDefaults());
        byte[] json;
        try {
            json = JSON.writeValueAsBytes(this);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("an emulator request always serialises", e);
        }
        return writer.records(Topics.EMULATOR_REQUESTS, writer.opaqueEvent(EventKind.CONTROL, sentMillis, 0, json));
    }

    /**
     * Verifies one record of {@link Topics#EMULATOR_REQUESTS} before anything reads it: authentic under
     * {@code key}, one whole CONTROL event, JSON naming the same session. Keeps no state (freshness against the
     * session's earlier requests is the caller's).
     */
    public static Signed verify(SessionKey key, ConsumerRecord<String, byte[]> record)
            throws OfflineTransport.RejectedRecordException {
        Optional<TensorEvent> event = new OfflineTransport.Receiver(key, EventKind.CONTROL).offer(record);
        if (event.isEmpty()) {
            throw rejected(RejectReason.PROTOCOL, "an emulator request is one record, not a chunk of several");
        }
        EmulatorRequest request;
        try {
            request = JSON.readValue(event.get().payload(), EmulatorRequest.class);
        } catch (java.io.IOException e) {
            throw rejected(RejectReason.PROTOCOL, "the request is not an emulator request's JSON: " + e.getMessage());
        }
        if (!key.sessionId().equals(request.session())) {
            throw rejected(RejectReason.WRONG_SESSION, "a request naming session " + request.session()
                    + " signed for session " + key.sessionId());
        }
        if (request.action() != null && !BUILD.equals(request.action()) && !request.isCancel()) {
            throw rejected(RejectReason.PROTOCOL, "unknown action '" + request.action() + "' (build or cancel)");
        }
        return new Signed(request, event.get().metadata().step());
    }

    private static OfflineTransport.RejectedRecordException rejected(RejectReason reason, String detail) {
        return new OfflineTransport.RejectedRecordException(new Verdict.Rejected(reason, detail));
    }
}
