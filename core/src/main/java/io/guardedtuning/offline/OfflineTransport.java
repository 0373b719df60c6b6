package io.guardedtuning.offline;

import io.guardedtuning.messaging.Topics;
import io.guardedtuning.tensor.HostTensor;
import io.guardedtuning.wire.EventKind;
import io.guardedtuning.wire.SessionKey;
import io.guardedtuning.wire.TensorEvent;
import io.guardedtuning.wire.TensorEventVerifier;
import io.guardedtuning.wire.TensorEventWriter;
import io.guardedtuning.wire.Verdict;
import io.guardedtuning.wire.WireLimits;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Headers;

import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The Offline design's two messages on the wire (docs/architecture.md): the signed package down as chunked
 * {@code PACKAGE_CHUNK} events on the session's down topic, and the tuned adapters up as one {@code ADAPTER} event
 * (safetensors, full-model naming) on {@link Topics#ADAPTERS_UP}. Both are HMAC'd with the session key like every
 * event; the package is additionally signed by the provider.
 */
public final class OfflineTransport {

    /** Event attribute binding returned adapters to the package they were tuned from (its SHA-256). */
    public static final String PACKAGE_ATTRIBUTE = "package";

    private OfflineTransport() {
    }

    public static List<ProducerRecord<String, byte[]>> packageRecords(SessionKey key, String source, byte[] pkg) {
        TensorEventWriter writer = new TensorEventWriter(source, key, WireLimits.chunkedDefaults());
        TensorEvent event = writer.opaqueEvent(EventKind.PACKAGE_CHUNK, 0, 0, pkg);
        return writer.records(Topics.sessionDown(key.sessionId()), event);
    }

    /**
     * @param attempt 0 for the first send; a deliberate resend uses a higher attempt (a replay is refused)
     */
    public static List<ProducerRecord<String, byte[]>> adapterRecords(SessionKey key, String source,
                                                                      Map<String, HostTensor> fullNamedAdapters,
                                                                      String packageDigest, int attempt) {
        TensorEventWriter writer = new TensorEventWriter(source, key, WireLimits.chunkedDefaults());
        TensorEvent event = writer.opaqueEvent(EventKind.ADAPTER, 0, 0, attempt,
                Map.of(PACKAGE_ATTRIBUTE, packageDigest), TensorBytes.encode(fullNamedAdapters));
        return writer.records(Topics.ADAPTERS_UP, event);
    }

    /**
     * Authenticates and reassembles one session's events of one kind; one per session and consuming thread.
     * {@link #offer} returns the whole event once its last chunk arrived.
     */
    public static final class Receiver {

        private final TensorEventVerifier verifier;

        public Receiver(SessionKey key, EventKind kind) {
            this.verifier = new TensorEventVerifier(key, Set.of(kind), WireLimits.chunkedDefaults(), Clock.systemUTC());
        }

        /** @return the whole event when complete, empty while chunks are missing; a rejection as the verdict */
        public Optional<TensorEvent> offer(ConsumerRecord<String, byte[]> record) throws RejectedRecordException {
            return offer(record.key(), record.headers(), record.value());
        }

        public Optional<TensorEvent> offer(String recordKey, Headers headers, byte[] value)
                throws RejectedRecordException {
            Verdict v = verifier.verify(recordKey, headers, value);
            if (v instanceof Verdict.Rejected r) {
                throw new RejectedRecordException(r);
            }
            return v instanceof Verdict.Accepted a ? Optional.of(a.event()) : Optional.empty();
        }
    }

    /** A record the wire verifier refused; carries the verdict for the dead-letter record. */
    public static final class RejectedRecordException extends Exception {

        private final Verdict.Rejected verdict;

        public RejectedRecordException(Verdict.Rejected verdict) {
            super(verdict.reason() + ": " + verdict.detail());
            this.verdict = verdict;
        }

        public Verdict.Rejected verdict() {
            return verdict;
        }
    }
}
