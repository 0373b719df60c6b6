package io.guardedtuning.session;

import io.guardedtuning.messaging.Topics;
import io.guardedtuning.wire.SessionKey;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Optional;
import java.util.function.Function;

/**
 * The bearer token with which a session's owner reads what the provider's services hold about its session (audit
 * results, its emulator job): {@code <session>.<hex HMAC-SHA256(session key, "gt-owner-token:<session>")>}. The
 * client computes it from its own session key; a service holding the master secret derives the same, so no token
 * store exists anywhere. It proves possession of the session key without revealing it, and only for reading.
 */
public final class OwnerToken {

    private static final String LABEL = "gt-owner-token:";

    private OwnerToken() {
    }

    public static String of(SessionKey key) {
        return key.sessionId() + "." + HexFormat.of().formatHex(mac(key));
    }

    /**
     * The session a token belongs to when it verifies under that session's key, else empty.
     *
     * @param keyOf the key of a session this service may verify for (empty: none, e.g. another client's)
     */
    public static Optional<String> verify(String token, Function<String, Optional<SessionKey>> keyOf) {
        int dot = token == null ? -1 : token.indexOf('.');
        if (dot <= 0) {
            return Optional.empty();
        }
        String session = token.substring(0, dot);
        byte[] claimed;
        try {
            Topics.requireSessionId(session);
            claimed = HexFormat.of().parseHex(token.substring(dot + 1));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
        Optional<SessionKey> key = keyOf.apply(session);
        return key.isPresent() && MessageDigest.isEqual(claimed, mac(key.get())) ? Optional.of(session)
                : Optional.empty();
    }

    private static byte[] mac(SessionKey key) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key.key(), "HmacSHA256"));
            return mac.doFinal((LABEL + key.sessionId()).getBytes(StandardCharsets.UTF_8));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is mandatory on every Java platform", e);
        }
    }
}
