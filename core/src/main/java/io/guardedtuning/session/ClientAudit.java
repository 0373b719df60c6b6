package io.guardedtuning.session;

import io.guardedtuning.messaging.Topics;
import io.guardedtuning.wire.DeadLetters;
import io.guardedtuning.wire.EventKind;
import io.guardedtuning.wire.SessionKey;
import io.guardedtuning.wire.TensorEventVerifier;
import io.guardedtuning.wire.TensorEventWriter;
import io.guardedtuning.wire.RejectReason;
import io.guardedtuning.wire.Verdict;
import io.guardedtuning.wire.WireHeaders;
import io.guardedtuning.wire.WireLimits;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * The client's half of the audit: verifies the auditor's reconstruction events from the session's down topic,
 * scores them against the client's own rows ({@link AuditedSteps}) and publishes only the numbers, signed, on
 * {@link Topics#AUDIT_SCORES}. A refused event (bad signature, malformed, or a pass and step whose rows this client
 * does not hold) goes to the dead-letter topic with its reason and headers, without its payload: token ids have no
 * business on a shared topic, whoever computed them.
 */
public final class ClientAudit {

    private final AuditedSteps steps;
    private final TensorEventVerifier verifier;
    private final TensorEventWriter writer;
    private final RemoteBackboneLink.RecordSink sink;
    private final AtomicLong lastEventStep = new AtomicLong();
    private final AtomicReference<String> lastRefusal = new AtomicReference<>();
    private volatile Consumer<AuditProtocol.StepScores> onScored = s -> { };

    public ClientAudit(SessionKey key, String producerId, WireLimits limits, AuditedSteps steps,
                       RemoteBackboneLink.RecordSink sink, Clock clock) {
        this.steps = steps;
        this.verifier = new TensorEventVerifier(key, Set.of(EventKind.AUDIT_RECONSTRUCTION), limits, clock);
        this.writer = new TensorEventWriter(producerId, key, limits);
        this.sink = sink;
    }

    /** Whether a down-topic record claims to be a reconstruction (unverified: it only picks who verifies it). */
    public static boolean isReconstruction(ConsumerRecord<String, byte[]> record) {
        Header kind = record.headers().lastHeader(WireHeaders.KIND);
        return kind != null && EventKind.AUDIT_RECONSTRUCTION.name().equals(
                new String(kind.value(), StandardCharsets.UTF_8));
    }

    /** A handler for the session's down topic: reconstructions to this audit, everything else to {@code rest}. */
    public Consumer<ConsumerRecord<String, byte[]>> routing(Consumer<ConsumerRecord<String, byte[]>> rest) {
        return r -> {
            if (isReconstruction(r)) {
                onRecord(r);
            } else {
                rest.accept(r);
            }
        };
    }

    /** One reconstruction record (consumer thread). */
    public void onRecord(ConsumerRecord<String, byte[]> record) {
        Verdict v;
        synchronized (verifier) {
            v = verifier.verify(record);
        }
        if (v instanceof Verdict.Rejected r) {
            refuse(record, r);
        } else if (v instanceof Verdict.Accepted a) {
            try {
                AuditProtocol.StepScores s = steps.score(a.event().metadata().id(),
                        AuditProtocol.decodeReconstructions(a.event().payload()));
                sink.send(AuditProtocol.scoreRecords(writer, AuditProtocol.nextEventStep(lastEventStep), s));
                onScored.accept(s);
            } catch (IllegalArgumentException e) {
                refuse(record, new Verdict.Rejected(RejectReason.PROTOCOL, e.getMessage()));
            }
        }
    }

    /** Who hears of every scored reconstruction (the client's leakage budget); called on the consumer thread. */
    public void onScored(Consumer<AuditProtocol.StepScores> listener) {
        this.onScored = listener;
    }

    /** Why the latest reconstruction was refused, or null. */
    public String lastRefusal() {
        return lastRefusal.get();
    }

    public AuditedSteps steps() {
        return steps;
    }

    private void refuse(ConsumerRecord<String, byte[]> record, Verdict.Rejected r) {
        lastRefusal.set(r.reason() + ": " + r.detail());
        ProducerRecord<String, byte[]> letter = DeadLetters.record(Topics.DEAD_LETTER, record, r);
        sink.send(List.of(new ProducerRecord<>(letter.topic(), null, letter.key(), new byte[0], letter.headers())));
    }
}
