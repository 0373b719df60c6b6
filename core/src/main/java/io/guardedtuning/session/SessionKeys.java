package io.guardedtuning.session;

import io.guardedtuning.messaging.Topics;
import io.guardedtuning.wire.SessionKey;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.HexFormat;

/**
 * Per-session HMAC keys derived from the provider's master secret: the server and the auditor hold the master and
 * derive any session's key on demand (no key store to share between replicas); a client receives only its own.
 */
public final class SessionKeys {

    private final byte[] master;

    public SessionKeys(byte[] master) {
        if (master.length < 32) {
            throw new IllegalArgumentException("the master secret needs at least 32 bytes, got " + master.length);
        }
        this.master = master.clone();
    }

    /** Parses a hex master secret as given in configuration ({@code GT_MASTER_KEY}). */
    public static SessionKeys fromHex(String hex) {
        try {
            return new SessionKeys(HexFormat.of().parseHex(hex.trim()));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("the master secret must be hex-encoded (64+ hex digits): "
                    + e.getMessage());
        }
    }

    public SessionKey forSession(String sessionId) {
        Topics.requireSessionId(sessionId);
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(master, "HmacSHA256"));
            return new SessionKey(sessionId, mac.doFinal(("gt-session-key:" + sessionId)
                    .getBytes(StandardCharsets.UTF_8)));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is mandatory on every Java platform", e);
        }
    }
}
