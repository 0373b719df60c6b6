package io.guardedtuning.wire;

import java.time.Duration;
import java.util.Map;

/**
 * Size limits of the wire, and the Kafka property sets derived from them so producer, broker/topic and consumer
 * agree. Every record's value is at most {@code maxChunkBytes}; headers and record overhead get
 * {@link #RECORD_OVERHEAD_BYTES} on top.
 *
 * @param maxChunkBytes       largest record payload; bigger event payloads are chunked
 * @param maxEventBytes       largest whole event payload a receiver reassembles
 * @param maxOpenChunkSets    incomplete chunk sets a receiver keeps at once
 * @param maxReassemblyBytes  bytes a receiver reserves for incomplete chunk sets
 * @param chunkSetTimeout     how long an incomplete set may wait for its missing chunks
 */
public record WireLimits(int maxChunkBytes, long maxEventBytes, int maxOpenChunkSets, long maxReassemblyBytes,
                         Duration chunkSetTimeout) {

    /** Headers (~1 KiB with long ids) plus batch and record framing, with room to spare. */
    public static final int RECORD_OVERHEAD_BYTES = 16 * 1024;
    /**
     * What a receiver spends per declared chunk of an open set besides the chunk's bytes (a slot and an array
     * header); counted against {@code maxReassemblyBytes} so a set's bookkeeping is paid for like its payload.
     */
    public static final int CHUNK_BOOKKEEPING_BYTES = 32;
    private static final int KAFKA_DEFAULT_MESSAGE_BYTES = 1024 * 1024;

    public WireLimits {
        if (maxChunkBytes <= 0 || maxEventBytes <= 0 || maxOpenChunkSets <= 0 || maxReassemblyBytes < maxEventBytes) {
            throw new IllegalArgumentException("inconsistent wire limits");
        }
    }

    /**
     * The chosen default: chunks that fit Kafka's stock 1 MiB limits, so no client, broker or topic setting has to
     * be raised anywhere; events up to 256 MiB (an OPT-1.3B batch 8 × 512 activation is 32 MiB in fp32).
     */
    public static WireLimits chunkedDefaults() {
        return new WireLimits(KAFKA_DEFAULT_MESSAGE_BYTES - RECORD_OVERHEAD_BYTES, 256L << 20, 16, 512L << 20,
                Duration.ofSeconds(60));
    }

    /** The alternative: no chunking up to {@code maxEventBytes}, with every Kafka limit raised to match. */
    public static WireLimits singleRecord(int maxEventBytes) {
        return new WireLimits(maxEventBytes, maxEventBytes, 16, 2L * maxEventBytes, Duration.ofSeconds(60));
    }

    /**
     * Most chunks an event may declare: the largest event cut into full chunks. A sender splits an event into
     * {@code ceil(total / maxChunkBytes)} chunks, so anything above this is refused before a set is opened.
     */
    public int maxChunksPerEvent() {
        return Math.toIntExact(Math.max(1, (maxEventBytes + maxChunkBytes - 1) / maxChunkBytes));
    }

    /** Largest record batch on the wire: chunk + headers + framing. */
    public int maxMessageBytes() {
        return Math.addExact(maxChunkBytes, RECORD_OVERHEAD_BYTES);
    }

    /** Producer settings (merge with bootstrap servers and serializers). */
    public Map<String, Object> producerProperties() {
        return Map.of(
                "max.request.size", maxMessageBytes(), // checked before compression
                // The largest event's chunks (and a record more) must fit, or the last ones wait for space and a
                // send times out (max.block.ms) whenever the broker is slow; a 32 MiB event is 33 chunks. It is a
                // cap: the producer takes the memory only while records wait.
                "buffer.memory", Math.max(32L << 20, (Math.max(3, maxChunksPerEvent()) + 1L) * maxMessageBytes()),
                "acks", "all",
                "enable.idempotence", true, // chunks stay in order and are not duplicated by retries
                "linger.ms", 0,
                "compression.type", "none"); // the codec compresses where it pays (after quantisation)
    }

    /** Consumer settings (merge with bootstrap servers, group id and deserializers). */
    public Map<String, Object> consumerProperties() {
        return Map.of(
                "max.partition.fetch.bytes", Math.max(KAFKA_DEFAULT_MESSAGE_BYTES, maxMessageBytes()),
                "fetch.max.bytes", Math.max(50 << 20, maxMessageBytes()),
                "enable.auto.commit", false,
                "auto.offset.reset", "earliest",
                "isolation.level", "read_committed");
    }

    /** Topic configs for tensor topics (and their dead-letter topics). */
    public Map<String, String> topicConfig() {
        return Map.of(
                "max.message.bytes", Integer.toString(Math.max(KAFKA_DEFAULT_MESSAGE_BYTES, maxMessageBytes())),
                "cleanup.policy", "delete",
                "retention.ms", Long.toString(Duration.ofHours(6).toMillis()));
    }

    /** Broker settings that must be at least this high (the embedded broker sets them from here). */
    public Map<String, String> brokerProperties() {
        return Map.of(
                "message.max.bytes", Integer.toString(Math.max(KAFKA_DEFAULT_MESSAGE_BYTES, maxMessageBytes())),
                "replica.fetch.max.bytes", Integer.toString(Math.max(KAFKA_DEFAULT_MESSAGE_BYTES, maxMessageBytes())),
                "socket.request.max.bytes", Integer.toString(Math.max(100 << 20, 2 * maxMessageBytes())));
    }
}
