package io.guardedtuning.data;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/** A hash that is the same on every JVM and run, so that splits and shuffles built from it never drift. */
final class StableHash {

    private StableHash() {
    }

    /** The first 8 bytes of SHA-256 over "salt/key", as a non-negative long. */
    static long of(String salt, String key) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256")
                    .digest((salt + "/" + key).getBytes(StandardCharsets.UTF_8));
            return ByteBuffer.wrap(digest).getLong() & Long.MAX_VALUE;
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform must provide SHA-256", e);
        }
    }

    /** A bucket in [0, buckets). */
    static int bucket(String salt, String key, int buckets) {
        return (int) (of(salt, key) % buckets);
    }
}
