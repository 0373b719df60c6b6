package io.guardedtuning.wire;

import java.security.SecureRandom;
import java.util.Arrays;

/** The HMAC-SHA256 key of one training session; events of other sessions never verify under it. */
public record SessionKey(String sessionId, byte[] key) {

    public SessionKey {
        if (sessionId == null || sessionId.isEmpty()) {
            throw new IllegalArgumentException("session id required");
        }
        if (key.length < 32) {
            throw new IllegalArgumentException("HMAC-SHA256 key needs at least 32 bytes, got " + key.length);
        }
        key = key.clone();
    }

    public static SessionKey random(String sessionId) {
        byte[] key = new byte[32];
        new SecureRandom().nextBytes(key);
        return new SessionKey(sessionId, key);
    }

    @Override
    public byte[] key() {
        return key.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SessionKey k && sessionId.equals(k.sessionId) && Arrays.equals(key, k.key);
    }

    @Override
    public int hashCode() {
        return sessionId.hashCode();
    }

    @Override
    public String toString() {
        return "SessionKey[" + sessionId + "]"; // never the key bytes
    }
}
