package io.guardedtuning.wire;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ChunkReassemblerTest {

    private static final WireLimits SMALL = new WireLimits(100, 10_000, 2, 20_000, Duration.ofSeconds(30));

    /** A clock the test moves by hand. */
    static final class ManualClock extends Clock {
        Instant now = Instant.parse("2026-01-01T00:00:00Z");

        @Override
        public Instant instant() {
            return now;
        }

        @Override
        public java.time.ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }
    }

    private static List<TensorEvent> chunks(int payloadBytes, long seed) {
        byte[] payload = new byte[payloadBytes];
        new Random(seed).nextBytes(payload);
        EventMetadata m = new EventMetadata("event-" + seed, "test", EventKind.PACKAGE_CHUNK,
                Instant.EPOCH, "s", 1, 0, 0, new long[] {payloadBytes}, CodecSpec.of(CodecFormat.RAW), java.util.Map.of());
        String total = PayloadChecksum.SHA256.of(payload);
        int count = (payloadBytes + 99) / 100;
        List<TensorEvent> chunks = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            byte[] part = java.util.Arrays.copyOfRange(payload, i * 100, Math.min(payloadBytes, (i + 1) * 100));
            chunks.add(new TensorEvent(m, new ChunkPosition(i, count, payloadBytes, total), part));
        }
        return chunks;
    }

    private static byte[] whole(List<TensorEvent> chunks) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        chunks.forEach(c -> out.writeBytes(c.payload()));
        return out.toByteArray();
    }

    @Test
    void reassemblesShuffledChunksWithDuplicates() {
        ChunkReassembler reassembler = new ChunkReassembler(SMALL, new ManualClock());
        List<TensorEvent> chunks = chunks(950, 1);
        List<TensorEvent> delivery = new ArrayList<>(chunks);
        delivery.addAll(chunks.subList(2, 5));
        Collections.shuffle(delivery, new Random(7));
        List<TensorEvent> completed = new ArrayList<>();
        for (TensorEvent c : delivery) {
            reassembler.offer(c).ifPresent(completed::add);
        }
        assertEquals(1, completed.size());
        assertArrayEquals(whole(chunks), completed.get(0).payload());
        assertTrue(completed.get(0).chunk().isWhole());
        assertEquals(0, reassembler.openSets());
        assertEquals(0, reassembler.reservedBytes());
    }

    @Test
    void incompleteSetsTimeOutAndAreReported() {
        ManualClock clock = new ManualClock();
        ChunkReassembler reassembler = new ChunkReassembler(SMALL, clock);
        List<TensorEvent> chunks = chunks(500, 2);
        chunks.remove(3); // lost
        chunks.forEach(c -> assertEquals(Optional.empty(), reassembler.offer(c)));
        clock.now = clock.now.plusSeconds(10);
        assertEquals(List.of(), reassembler.expire());
        clock.now = clock.now.plusSeconds(30);
        List<ChunkReassembler.IncompleteSet> expired = reassembler.expire();
        assertEquals(1, expired.size());
        assertEquals(4, expired.get(0).received());
        assertEquals(5, expired.get(0).count());
        assertEquals(0, reassembler.reservedBytes());
    }

    @Test
    void memoryIsBoundedAndCorruptionDetected() {
        ChunkReassembler reassembler = new ChunkReassembler(SMALL, new ManualClock());
        reassembler.offer(chunks(300, 3).get(0));
        reassembler.offer(chunks(300, 4).get(0));
        WireRejectionException full = assertThrows(WireRejectionException.class,
                () -> reassembler.offer(chunks(300, 5).get(0)));
        assertEquals(RejectReason.REASSEMBLY_FULL, full.reason());
        assertEquals(RejectReason.OVERSIZE, assertThrows(WireRejectionException.class,
                () -> reassembler.offer(chunks(10_001, 6).get(0))).reason());

        ChunkReassembler fresh = new ChunkReassembler(SMALL, new ManualClock());
        List<TensorEvent> chunks = chunks(250, 7);
        TensorEvent last = chunks.get(2);
        byte[] corrupted = last.payload().clone();
        corrupted[0] ^= 1;
        fresh.offer(chunks.get(0));
        fresh.offer(chunks.get(1));
        assertEquals(RejectReason.CHECKSUM_MISMATCH, assertThrows(WireRejectionException.class,
                () -> fresh.offer(new TensorEvent(last.metadata(), last.chunk(), corrupted))).reason());
    }

    /** A chunk that declares its set's count and size freely: the shape of an attacker's record. */
    private static TensorEvent declaring(int count, long totalBytes, int payloadBytes) {
        EventMetadata m = new EventMetadata("declared-" + count, "test", EventKind.PACKAGE_CHUNK, Instant.EPOCH, "s",
                1, 0, 0, new long[] {totalBytes}, CodecSpec.of(CodecFormat.RAW), java.util.Map.of());
        return new TensorEvent(m, new ChunkPosition(0, count, totalBytes, "crc32c:00000000"), new byte[payloadBytes]);
    }

    @Test
    void aDeclaredChunkCountNoSenderProducesAllocatesNothing() {
        ChunkReassembler reassembler = new ChunkReassembler(SMALL, new ManualClock());
        // 150 million chunks for an event within the byte limit: refused before any per-chunk slot exists.
        WireRejectionException many = assertThrows(WireRejectionException.class,
                () -> reassembler.offer(declaring(150_000_000, 10_000, 100)));
        assertEquals(RejectReason.OVERSIZE, many.reason());
        assertTrue(many.getMessage().contains("150000000 chunks"), many.getMessage());
        // More chunks than bytes, and fewer chunks than the bytes need at this chunk size.
        assertEquals(RejectReason.OVERSIZE, assertThrows(WireRejectionException.class,
                () -> reassembler.offer(declaring(50, 40, 1))).reason());
        assertEquals(RejectReason.OVERSIZE, assertThrows(WireRejectionException.class,
                () -> reassembler.offer(declaring(2, 1000, 100))).reason());
        assertEquals(0, reassembler.openSets());
        assertEquals(0, reassembler.reservedBytes());
        assertEquals(100, SMALL.maxChunksPerEvent());
        assertEquals(261, WireLimits.chunkedDefaults().maxChunksPerEvent());
        assertEquals(1, WireLimits.singleRecord(1 << 20).maxChunksPerEvent());
    }

    @Test
    void aProducerBuffersTheLargestEventWholeWithoutBlocking() {
        for (WireLimits limits : List.of(WireLimits.chunkedDefaults(), WireLimits.singleRecord(64 << 20))) {
            long buffer = ((Number) limits.producerProperties().get("buffer.memory")).longValue();
            long chunked = (long) limits.maxChunksPerEvent() * limits.maxMessageBytes();
            assertTrue(buffer >= chunked, limits + ": buffer.memory " + buffer + " < one whole event " + chunked);
        }
    }

    @Test
    void chunksCannotHoldMoreThanTheirSetDeclaresAndBookkeepingIsCounted() {
        ChunkReassembler reassembler = new ChunkReassembler(SMALL, new ManualClock());
        assertEquals(RejectReason.SIZE_MISMATCH, assertThrows(WireRejectionException.class,
                () -> reassembler.offer(declaring(3, 250, 251))).reason());
        assertEquals(0, reassembler.openSets());

        List<TensorEvent> chunks = chunks(250, 8);
        reassembler.offer(chunks.get(0));
        assertEquals(250 + 3L * WireLimits.CHUNK_BOOKKEEPING_BYTES, reassembler.reservedBytes());
        // Chunks 1 and 2 replaced by full-size ones: the set would hold 300 bytes of a declared 250.
        reassembler.offer(new TensorEvent(chunks.get(1).metadata(), chunks.get(1).chunk(), new byte[100]));
        TensorEvent third = chunks.get(2);
        assertEquals(RejectReason.SIZE_MISMATCH, assertThrows(WireRejectionException.class,
                () -> reassembler.offer(new TensorEvent(third.metadata(), third.chunk(), new byte[100]))).reason());
    }
}
