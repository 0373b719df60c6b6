package io.guardedtuning.wire;

import io.guardedtuning.tensor.HostTensor;
import java.time.Clock;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Headers;

/**
 * The receiving side of one session for one role: authenticates records, refuses replays, reassembles chunks and
 * decodes tensors. Checks run cheapest first, and nothing is remembered (replay state, chunks) for a record that
 * fails one. Not thread-safe: one per consuming thread, like a Kafka consumer.
 */
public final class TensorEventVerifier {

    private final SessionKey key;
    private final Set<EventKind> acceptedKinds;
    private final WireLimits limits;
    private final ChunkReassembler reassembler;
    /**
     * Per kind, the (micro-batch, attempt, chunk) positions seen at each step still fresh: the newest step accepted
     * and, for activations, the one before it (a Gradfree client sends the next step's h_in ahead, so a retry of the
     * current step may follow it). Older steps are refused as stale, seen positions as replays.
     */
    private final Map<EventKind, TreeMap<Long, Set<String>>> seenSteps = new EnumMap<>(EventKind.class);
    private final Map<RejectReason, AtomicLong> rejections = new EnumMap<>(RejectReason.class);
    private boolean authenticated;

    public TensorEventVerifier(SessionKey key, Set<EventKind> acceptedKinds, WireLimits limits, Clock clock) {
        this.key = key;
        this.acceptedKinds = EnumSet.copyOf(acceptedKinds);
        this.limits = limits;
        this.reassembler = new ChunkReassembler(limits, clock);
        for (RejectReason reason : RejectReason.values()) {
            rejections.put(reason, new AtomicLong());
        }
    }

    public Verdict verify(ConsumerRecord<String, byte[]> record) {
        return verify(record.key(), record.headers(), record.value());
    }

    /**
     * Never throws: whatever a record holds, the answer is a verdict (a bug or a case no check foresaw is refused
     * as UNREADABLE rather than escaping into, and stopping, the consumer). Incomplete chunk sets past their
     * timeout are dropped first, so they expire in every receiver that keeps receiving.
     */
    public Verdict verify(String recordKey, Headers headers, byte[] value) {
        try {
            expireIncomplete();
            return check(recordKey, headers, value == null ? new byte[0] : value);
        } catch (WireRejectionException e) {
            return reject(e.reason(), e.getMessage());
        } catch (RuntimeException e) {
            return reject(RejectReason.UNREADABLE, e.getClass().getSimpleName() + ": " + e.getMessage());
        }
    }

    /**
     * True once a record passed the MAC check here, i.e. the session's key signed something this verifier saw:
     * the test a receiver applies before it keeps per-session state for a session it did not know.
     */
    public boolean authenticated() {
        return authenticated;
    }

    private Verdict check(String recordKey, Headers headers, byte[] payload) {
        if (payload.length > limits.maxChunkBytes()) {
            throw new WireRejectionException(RejectReason.OVERSIZE,
                    "record payload of " + payload.length + " bytes exceeds " + limits.maxChunkBytes());
        }
        String subject = WireHeaders.single(headers).get(WireHeaders.SUBJECT);
        if (!key.sessionId().equals(subject) || !key.sessionId().equals(recordKey)) {
            throw new WireRejectionException(RejectReason.WRONG_SESSION, "event of session " + subject
                    + " (record key " + recordKey + ") at the verifier of session " + key.sessionId());
        }
        WireHeaders.verifyMac(key, headers, payload);
        authenticated = true;
        TensorEvent chunk = WireHeaders.read(headers, payload);
        EventMetadata m = chunk.metadata();
        if (!acceptedKinds.contains(m.kind())) {
            throw new WireRejectionException(RejectReason.UNEXPECTED_KIND, m.kind() + " is not for this role");
        }
        String position = m.microBatch() + "/" + m.attempt() + "/" + chunk.chunk().index();
        checkFresh(m, position);
        Optional<TensorEvent> whole = reassembler.offer(chunk);
        Verdict verdict = whole.isEmpty()
                ? new Verdict.Pending(m.id(), chunk.chunk().index(), chunk.chunk().count())
                : new Verdict.Accepted(whole.get(), decode(whole.get()));
        remember(m, position);
        return verdict;
    }

    /** How many steps behind the newest accepted one an event of this kind may still be. */
    public static int stepWindow(EventKind kind) {
        return kind == EventKind.ACTIVATION_UP || kind == EventKind.ACTIVATION_DOWN ? 1 : 0;
    }

    private void checkFresh(EventMetadata m, String position) {
        TreeMap<Long, Set<String>> seen = seenSteps.get(m.kind());
        if (seen == null || m.step() > seen.lastKey()) {
            return;
        }
        long newest = seen.lastKey();
        if (m.step() < newest - stepWindow(m.kind())) {
            throw new WireRejectionException(RejectReason.STALE_STEP,
                    m.kind() + " step " + m.step() + " after step " + newest + " was accepted");
        }
        if (seen.getOrDefault(m.step(), Set.of()).contains(position)) {
            throw new WireRejectionException(RejectReason.REPLAYED,
                    m.kind() + " step " + m.step() + " micro-batch/attempt/chunk " + position + " already accepted");
        }
    }

    private void remember(EventMetadata m, String position) {
        TreeMap<Long, Set<String>> seen = seenSteps.computeIfAbsent(m.kind(), k -> new TreeMap<>());
        seen.computeIfAbsent(m.step(), s -> new HashSet<>()).add(position);
        seen.headMap(seen.lastKey() - stepWindow(m.kind())).clear();
    }

    private static Optional<HostTensor> decode(TensorEvent event) {
        EventMetadata m = event.metadata();
        if (m.codec().format() == CodecFormat.RAW) {
            long[] shape = m.shape();
            TensorCodec.requireSize(shape.length == 1 ? shape[0] : -1, event.payload().length);
            return Optional.empty();
        }
        HostTensor tensor = m.codec().newCodec().decode(m.shape(), event.payload());
        if (m.kind().finiteRequired()) {
            float[] data = tensor.data();
            for (int i = 0; i < data.length; i++) {
                if (!Float.isFinite(data[i])) {
                    throw new WireRejectionException(RejectReason.NON_FINITE,
                            m.kind() + " element " + i + " is " + data[i]);
                }
            }
        }
        return Optional.of(tensor);
    }

    private Verdict.Rejected reject(RejectReason reason, String detail) {
        rejections.get(reason).incrementAndGet();
        return new Verdict.Rejected(reason, detail);
    }

    /** Drops chunk sets still incomplete after the timeout, counting each as INCOMPLETE_CHUNK_SET. */
    public List<ChunkReassembler.IncompleteSet> expireIncomplete() {
        List<ChunkReassembler.IncompleteSet> expired = reassembler.expire();
        rejections.get(RejectReason.INCOMPLETE_CHUNK_SET).addAndGet(expired.size());
        return expired;
    }

    /**
     * Forgets the step history of some kinds, so their steps may start again from 0: used when a session's
     * authentic start event announces a restarted run (whose start step, a timestamp, must itself be fresh).
     */
    public void forgetSteps(Set<EventKind> kinds) {
        for (EventKind k : kinds) {
            seenSteps.remove(k);
        }
    }

    /** Rejections so far, per reason (every reason present, zeros included). */
    public Map<RejectReason, Long> rejectionCounts() {
        Map<RejectReason, Long> counts = new EnumMap<>(RejectReason.class);
        rejections.forEach((reason, count) -> counts.put(reason, count.get()));
        return counts;
    }
}
