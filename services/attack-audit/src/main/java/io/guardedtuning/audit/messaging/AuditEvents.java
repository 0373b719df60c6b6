package io.guardedtuning.audit.messaging;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.guardedtuning.audit.service.LeakageAlert;
import io.guardedtuning.audit.service.LeakageSeries;
import io.smallrye.reactive.messaging.MutinyEmitter;
import io.smallrye.reactive.messaging.kafka.api.OutgoingKafkaRecordMetadata;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.eclipse.microprofile.reactive.messaging.Channel;
import org.eclipse.microprofile.reactive.messaging.Emitter;
import org.eclipse.microprofile.reactive.messaging.Message;
import org.eclipse.microprofile.reactive.messaging.OnOverflow;
import org.jboss.logging.Logger;

import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * What the auditor publishes: dead letters, reconstructions (signed, each to its session's own down topic), leakage
 * series (JSON, keyed session|pass|attack) and alerts (JSON).
 */
@ApplicationScoped
public class AuditEvents {

    private static final Logger LOG = Logger.getLogger(AuditEvents.class);

    @Inject
    @Channel(AuditChannels.DEAD_LETTERS)
    @OnOverflow(value = OnOverflow.Strategy.BUFFER, bufferSize = 1024)
    MutinyEmitter<byte[]> deadLetters;

    @Inject
    @Channel(AuditChannels.RECONSTRUCTIONS)
    @OnOverflow(value = OnOverflow.Strategy.BUFFER, bufferSize = 1024)
    Emitter<byte[]> reconstructions;

    @Inject
    @Channel(AuditChannels.REPORTS)
    @OnOverflow(value = OnOverflow.Strategy.BUFFER, bufferSize = 1024)
    Emitter<String> reports;

    @Inject
    @Channel(AuditChannels.ALERTS)
    @OnOverflow(value = OnOverflow.Strategy.BUFFER, bufferSize = 256)
    Emitter<String> alerts;

    @Inject
    ObjectMapper json;

    /**
     * A dead letter as core's DeadLetters builds it, marked as the auditor's. Returns once Kafka has it (called on
     * the tap's worker thread): a burst of refused records then slows the tap down instead of overflowing the
     * emitter's buffer, which would lose dead letters.
     */
    public void deadLetter(ProducerRecord<String, byte[]> record) {
        RecordHeaders headers = new RecordHeaders(record.headers().toArray());
        headers.add(AuditChannels.DEAD_LETTER_GROUP_HEADER, AuditChannels.GROUP.getBytes(StandardCharsets.UTF_8));
        try {
            deadLetters.sendMessageAndAwait(Message.of(record.value() == null ? new byte[0] : record.value())
                    .addMetadata(OutgoingKafkaRecordMetadata.<String>builder().withKey(record.key())
                            .withHeaders(headers).build()));
        } catch (RuntimeException e) {
            LOG.errorf("a dead letter of session %s was not stored: %s", record.key(), e.getMessage());
        }
    }

    /** A reconstruction event's records, as written for the session's down topic (the topic is each record's). */
    public void reconstructions(List<ProducerRecord<String, byte[]>> records) {
        for (ProducerRecord<String, byte[]> r : records) {
            reconstructions.send(Message.of(r.value()).addMetadata(OutgoingKafkaRecordMetadata.<String>builder()
                    .withTopic(r.topic()).withKey(r.key()).withHeaders(new RecordHeaders(r.headers().toArray()))
                    .build()));
        }
    }

    public void report(LeakageSeries series) {
        reports.send(keyed(series.key(), toJson(series)));
    }

    public void alert(LeakageAlert alert) {
        alerts.send(keyed(LeakageSeries.key(alert.session(), alert.pass(), alert.attack()), toJson(alert)));
    }

    private static Message<String> keyed(String key, String value) {
        return Message.of(value).addMetadata(OutgoingKafkaRecordMetadata.<String>builder().withKey(key).build());
    }

    private String toJson(Object value) {
        try {
            return json.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("report not serialisable", e);
        }
    }
}
