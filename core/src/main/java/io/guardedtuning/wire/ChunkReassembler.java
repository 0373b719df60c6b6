package io.guardedtuning.wire;

import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Rebuilds whole events from chunks that may arrive out of order, twice, or never. Memory is bounded: a set's
 * declared chunk count must be one a sender can produce ({@link WireLimits#maxChunksPerEvent()}, and no more
 * chunks than bytes), a set reserves its declared total size plus its per-chunk bookkeeping when its first chunk
 * arrives, its chunks may not hold more than the declared total, and sets beyond the open-set or byte budget are
 * refused (REASSEMBLY_FULL) rather than evicting sets already in progress. Sets still incomplete after the
 * timeout are dropped by {@link #expire()}. Not thread-safe: one per consumer.
 */
public final class ChunkReassembler {

    /** A chunk set dropped by {@link #expire()} because chunks were still missing after the timeout. */
    public record IncompleteSet(EventMetadata metadata, int received, int count, Instant firstSeen) {
    }

    private static final class OpenSet {
        final TensorEvent first;
        final byte[][] parts;
        final Instant firstSeen;
        int received;
        long receivedBytes;

        OpenSet(TensorEvent first, Instant firstSeen) {
            this.first = first;
            this.parts = new byte[first.chunk().count()][];
            this.firstSeen = firstSeen;
        }
    }

    private final WireLimits limits;
    private final Clock clock;
    private final Map<String, OpenSet> open = new LinkedHashMap<>();
    /** Recently completed set ids, so a late duplicate chunk does not open a set that can never complete. */
    private final Set<String> recentlyCompleted;
    private long reservedBytes;

    public ChunkReassembler(WireLimits limits, Clock clock) {
        this.limits = limits;
        this.clock = clock;
        int remembered = 64 * limits.maxOpenChunkSets();
        this.recentlyCompleted = Collections.newSetFromMap(new LinkedHashMap<>() {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
                return size() > remembered;
            }
        });
    }

    /**
     * @return the whole event once its last chunk arrived; empty while chunks are missing or for a duplicate
     * @throws WireRejectionException OVERSIZE, REASSEMBLY_FULL, MALFORMED_HEADER (chunk disagrees with its set)
     *                                or CHECKSUM_MISMATCH (whole payload)
     */
    public Optional<TensorEvent> offer(TensorEvent chunk) {
        ChunkPosition position = chunk.chunk();
        if (position.totalBytes() > limits.maxEventBytes()) {
            throw new WireRejectionException(RejectReason.OVERSIZE,
                    "event of " + position.totalBytes() + " bytes exceeds " + limits.maxEventBytes());
        }
        if (position.isWhole()) {
            return Optional.of(chunk);
        }
        requirePossibleCount(chunk);
        if (recentlyCompleted.contains(chunk.metadata().id())) {
            return Optional.empty();
        }
        OpenSet set = open.get(chunk.metadata().id());
        if (set == null) {
            set = openSet(chunk);
        } else if (!set.first.metadata().equals(chunk.metadata())
                || !samePositionExceptIndex(set.first.chunk(), position)) {
            throw new WireRejectionException(RejectReason.MALFORMED_HEADER,
                    "chunk " + position.index() + " disagrees with the rest of set " + chunk.metadata().id());
        }
        if (set.parts[position.index()] != null) {
            return Optional.empty();
        }
        if (set.receivedBytes + chunk.payload().length > position.totalBytes()) {
            throw new WireRejectionException(RejectReason.SIZE_MISMATCH, "chunk " + position.index() + " of set "
                    + chunk.metadata().id() + " takes it past its declared " + position.totalBytes() + " bytes");
        }
        set.parts[position.index()] = chunk.payload();
        set.received++;
        set.receivedBytes += chunk.payload().length;
        if (set.received < set.parts.length) {
            return Optional.empty();
        }
        close(chunk.metadata().id(), set);
        recentlyCompleted.add(chunk.metadata().id());
        return Optional.of(assemble(set));
    }

    /** A count no sender of these limits produces (or an oversized chunk) is refused before anything is allocated. */
    private void requirePossibleCount(TensorEvent chunk) {
        ChunkPosition p = chunk.chunk();
        long fewest = (p.totalBytes() + limits.maxChunkBytes() - 1) / limits.maxChunkBytes();
        if (p.count() > limits.maxChunksPerEvent() || p.count() > Math.max(1, p.totalBytes()) || p.count() < fewest) {
            throw new WireRejectionException(RejectReason.OVERSIZE, "set " + chunk.metadata().id() + " declares "
                    + p.count() + " chunks for " + p.totalBytes() + " bytes; between " + fewest + " and "
                    + Math.min(limits.maxChunksPerEvent(), Math.max(1, p.totalBytes())) + " allowed");
        }
        if (chunk.payload().length > p.totalBytes()) {
            throw new WireRejectionException(RejectReason.SIZE_MISMATCH, "chunk of " + chunk.payload().length
                    + " bytes in set " + chunk.metadata().id() + " of " + p.totalBytes() + " bytes");
        }
    }

    /** Bytes a set holds back from the budget: its declared payload and its per-chunk bookkeeping. */
    private static long reservation(ChunkPosition p) {
        return p.totalBytes() + (long) p.count() * WireLimits.CHUNK_BOOKKEEPING_BYTES;
    }

    private OpenSet openSet(TensorEvent chunk) {
        long total = reservation(chunk.chunk());
        if (open.size() >= limits.maxOpenChunkSets() || reservedBytes + total > limits.maxReassemblyBytes()) {
            throw new WireRejectionException(RejectReason.REASSEMBLY_FULL, open.size() + " sets holding "
                    + reservedBytes + " bytes are open; refusing set " + chunk.metadata().id());
        }
        OpenSet set = new OpenSet(chunk, clock.instant());
        open.put(chunk.metadata().id(), set);
        reservedBytes += total;
        return set;
    }

    private static boolean samePositionExceptIndex(ChunkPosition a, ChunkPosition b) {
        return a.count() == b.count() && a.totalBytes() == b.totalBytes() && a.totalChecksum().equals(b.totalChecksum());
    }

    private void close(String id, OpenSet set) {
        open.remove(id);
        reservedBytes -= reservation(set.first.chunk());
    }

    private static TensorEvent assemble(OpenSet set) {
        ChunkPosition position = set.first.chunk();
        long length = 0;
        for (byte[] part : set.parts) {
            length += part.length;
        }
        TensorCodec.requireSize(position.totalBytes(), length);
        byte[] whole = new byte[(int) length];
        int offset = 0;
        for (byte[] part : set.parts) {
            System.arraycopy(part, 0, whole, offset, part.length);
            offset += part.length;
        }
        PayloadChecksum.verify(position.totalChecksum(), whole);
        return new TensorEvent(set.first.metadata(),
                new ChunkPosition(0, 1, whole.length, position.totalChecksum()), whole);
    }

    /** Drops and reports the sets that waited longer than the timeout. */
    public List<IncompleteSet> expire() {
        Instant deadline = clock.instant().minus(limits.chunkSetTimeout());
        List<IncompleteSet> expired = new ArrayList<>();
        for (Iterator<OpenSet> it = open.values().iterator(); it.hasNext(); ) {
            OpenSet set = it.next();
            if (set.firstSeen.isBefore(deadline)) {
                it.remove();
                reservedBytes -= reservation(set.first.chunk());
                expired.add(new IncompleteSet(set.first.metadata(), set.received, set.parts.length, set.firstSeen));
            }
        }
        return expired;
    }

    public int openSets() {
        return open.size();
    }

    public long reservedBytes() {
        return reservedBytes;
    }
}
