package io.guardedtuning.service.rest;

import io.guardedtuning.session.SessionKeys;
import io.guardedtuning.wire.SessionKey;

import java.util.Optional;

/**
 * The session keys a service can check owner tokens with; each service produces one bean of it (the provider's
 * services derive any session's key from the master secret, a client knows only its own session's).
 */
public interface SessionKeyLookup {

    /** The key of {@code session} (a valid session id), or empty when this service cannot vouch for it. */
    Optional<SessionKey> keyOf(String session);

    /** Any session's key, derived from the hex master secret; none when the secret is not configured. */
    static SessionKeyLookup fromMaster(Optional<String> masterHex) {
        Optional<SessionKeys> keys = masterHex.map(String::strip).filter(h -> !h.isEmpty()).map(SessionKeys::fromHex);
        return session -> keys.map(k -> k.forSession(session));
    }
}
