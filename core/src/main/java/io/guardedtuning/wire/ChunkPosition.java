package io.guardedtuning.wire;

/**
 * Where a record's payload sits in its event's whole payload. An unchunked event is chunk 0 of 1.
 *
 * @param totalChecksum {@link PayloadChecksum} of the whole payload, checked after reassembly
 */
public record ChunkPosition(int index, int count, long totalBytes, String totalChecksum) {

    public ChunkPosition {
        if (count < 1 || index < 0 || index >= count || totalBytes < 0) {
            throw new WireRejectionException(RejectReason.MALFORMED_HEADER,
                    "chunk " + index + " of " + count + ", total " + totalBytes + " bytes");
        }
    }

    public static ChunkPosition whole(byte[] payload, PayloadChecksum checksum) {
        return new ChunkPosition(0, 1, payload.length, checksum.of(payload));
    }

    public boolean isWhole() {
        return count == 1;
    }
}
