package io.guardedtuning.wire;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.zip.CRC32C;

/**
 * Payload checksum, written as {@code <algorithm>:<lower-case hex>} (e.g. {@code crc32c:1a2b3c4d}). It catches
 * corruption and reassembly mistakes; tampering is the HMAC's job.
 */
public enum PayloadChecksum {
    CRC32C("crc32c"),
    SHA256("sha256");

    private final String label;

    PayloadChecksum(String label) {
        this.label = label;
    }

    public String of(byte[] payload) {
        return of(payload, 0, payload.length);
    }

    public String of(byte[] payload, int offset, int length) {
        return label + ":" + HexFormat.of().formatHex(digest(payload, offset, length));
    }

    private byte[] digest(byte[] payload, int offset, int length) {
        if (this == CRC32C) {
            CRC32C crc = new CRC32C();
            crc.update(payload, offset, length);
            long value = crc.getValue();
            return new byte[] {(byte) (value >>> 24), (byte) (value >>> 16), (byte) (value >>> 8), (byte) value};
        }
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update(payload, offset, length);
            return sha.digest();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform has SHA-256", e);
        }
    }

    /** @throws WireRejectionException CHECKSUM_MISMATCH, or MALFORMED_HEADER for an unknown algorithm */
    public static void verify(String headerValue, byte[] payload) {
        for (PayloadChecksum c : values()) {
            if (headerValue.startsWith(c.label + ":")) {
                if (!MessageDigest.isEqual(headerValue.getBytes(), c.of(payload).getBytes())) {
                    throw new WireRejectionException(RejectReason.CHECKSUM_MISMATCH,
                            "payload checksum " + c.of(payload) + " but header says " + headerValue);
                }
                return;
            }
        }
        throw new WireRejectionException(RejectReason.MALFORMED_HEADER, "unknown checksum '" + headerValue + "'");
    }
}
