package io.guardedtuning.client.rest;

import io.guardedtuning.client.service.SessionService;
import io.guardedtuning.service.rest.SessionKeyLookup;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Produces;

import java.util.Optional;

/** A client verifies owner tokens of its own session only: it holds no other key. */
public class OwnSessionKey {

    @Produces
    @ApplicationScoped
    SessionKeyLookup keys(SessionService session) {
        return id -> Optional.of(session.key()).filter(k -> k.sessionId().equals(id));
    }
}
