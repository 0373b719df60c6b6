package io.guardedtuning.wire;

import io.guardedtuning.tensor.HostTensor;
import java.time.Clock;
import java.util.AbstractList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.clients.producer.ProducerRecord;

/** The sending side of one session: encodes tensors into events and events into signed, chunked Kafka records. */
public final class TensorEventWriter {

    private final String source;
    private final SessionKey key;
    private final WireLimits limits;
    private final PayloadChecksum checksum;
    private final Clock clock;
    /** One codec per spec, so stochastic rounding keeps advancing its stream instead of repeating it. */
    private final Map<CodecSpec, TensorCodec> codecs = new ConcurrentHashMap<>();

    public TensorEventWriter(String source, SessionKey key, WireLimits limits, PayloadChecksum checksum, Clock clock) {
        this.source = source;
        this.key = key;
        this.limits = limits;
        this.checksum = checksum;
        this.clock = clock;
    }

    public TensorEventWriter(String source, SessionKey key, WireLimits limits) {
        this(source, key, limits, PayloadChecksum.CRC32C, Clock.systemUTC());
    }

    public TensorEvent tensorEvent(EventKind kind, long step, int microBatch, HostTensor tensor, CodecSpec codec) {
        return tensorEvent(kind, step, microBatch, 0, Map.of(), tensor, codec);
    }

    public TensorEvent tensorEvent(EventKind kind, long step, int microBatch, int attempt,
                                   Map<String, String> attributes, HostTensor tensor, CodecSpec codec) {
        byte[] payload = codecs.computeIfAbsent(codec, CodecSpec::newCodec).encode(tensor);
        return event(kind, step, microBatch, attempt, attributes, tensor.shape(), codec, payload);
    }

    public TensorEvent opaqueEvent(EventKind kind, long step, int microBatch, byte[] payload) {
        return opaqueEvent(kind, step, microBatch, 0, Map.of(), payload);
    }

    public TensorEvent opaqueEvent(EventKind kind, long step, int microBatch, int attempt,
                                   Map<String, String> attributes, byte[] payload) {
        return event(kind, step, microBatch, attempt, attributes, new long[] {payload.length},
                CodecSpec.of(CodecFormat.RAW), payload);
    }

    private TensorEvent event(EventKind kind, long step, int microBatch, int attempt, Map<String, String> attributes,
                              long[] shape, CodecSpec codec, byte[] payload) {
        EventMetadata metadata = new EventMetadata(UUID.randomUUID().toString(), source, kind, clock.instant(),
                key.sessionId(), step, microBatch, attempt, shape, codec, attributes);
        return new TensorEvent(metadata, ChunkPosition.whole(payload, checksum), payload);
    }

    /**
     * The event as records keyed by session id, split into chunks of at most {@link WireLimits#maxChunkBytes()}.
     * Each chunk is cut and signed when first read, so a sender that produces them in order has the first on the
     * wire while the rest are still being signed; a chunk read again is the same record.
     */
    public SignedRecords records(String topic, TensorEvent event) {
        byte[] payload = event.payload();
        int chunkBytes = limits.maxChunkBytes();
        int count = Math.max(1, (int) ((payload.length + (long) chunkBytes - 1) / chunkBytes));
        return new SignedChunks(topic, event, chunkBytes, count);
    }

    /** An event's records, each signed when first read. */
    public interface SignedRecords extends List<ProducerRecord<String, byte[]>> {

        /** The bytes of all the records' values (the event's payload), known without signing any record. */
        long valueBytes();
    }

    private final class SignedChunks extends AbstractList<ProducerRecord<String, byte[]>> implements SignedRecords {
        private final String topic;
        private final TensorEvent event;
        private final int chunkBytes;
        private final ProducerRecord<String, byte[]>[] signed;

        @SuppressWarnings("unchecked")
        SignedChunks(String topic, TensorEvent event, int chunkBytes, int count) {
            this.topic = topic;
            this.event = event;
            this.chunkBytes = chunkBytes;
            this.signed = new ProducerRecord[count];
        }

        @Override
        public long valueBytes() {
            return event.payload().length;
        }

        @Override
        public synchronized ProducerRecord<String, byte[]> get(int i) {
            if (signed[i] == null) {
                byte[] payload = event.payload();
                byte[] part = signed.length == 1 ? payload : Arrays.copyOfRange(payload, i * chunkBytes,
                        (int) Math.min(payload.length, (long) (i + 1) * chunkBytes));
                ChunkPosition position = new ChunkPosition(i, signed.length, payload.length,
                        event.chunk().totalChecksum());
                TensorEvent chunk = new TensorEvent(event.metadata(), position, part);
                signed[i] = new ProducerRecord<>(topic, null, key.sessionId(), part,
                        WireHeaders.write(chunk, checksum, key));
            }
            return signed[i];
        }

        @Override
        public int size() {
            return signed.length;
        }
    }
}
