package io.guardedtuning.tensor;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;

/**
 * SHA-256 of a set of named fp32 tensors: names in sorted order, each with its shape and the raw bits of its values
 * ({@code floatToRawIntBits}, so -0.0 and NaN payloads count). Two runs that end with bit-identical weights have the
 * same digest, whatever the map's order; a run summary can name its weights without carrying them.
 */
public final class TensorDigest {

    private TensorDigest() {
    }

    /** Lower-case hex SHA-256 over (name, shape, raw bits) of every tensor, by name. */
    public static String sha256(Map<String, HostTensor> tensors) {
        MessageDigest sha;
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform has SHA-256", e);
        }
        new TreeMap<>(tensors).forEach((name, t) -> {
            byte[] n = name.getBytes(StandardCharsets.UTF_8);
            ByteBuffer head = ByteBuffer.allocate(8 + n.length + 8 * t.shape().length);
            head.putInt(n.length).put(n).putInt(t.shape().length);
            for (long d : t.shape()) {
                head.putLong(d);
            }
            sha.update(head.array());
            ByteBuffer values = ByteBuffer.allocate(4 * t.data().length);
            for (float f : t.data()) {
                values.putInt(Float.floatToRawIntBits(f));
            }
            sha.update(values.array());
        });
        return HexFormat.of().formatHex(sha.digest());
    }
}
