package io.guardedtuning.service.rest;

import io.guardedtuning.service.config.ConfigProblems;
import io.guardedtuning.session.OwnerToken;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.Optional;

/**
 * Checks the credentials of an HTTP request: the operator token ({@code gt.api.operator-token}, env
 * {@code GT_OPERATOR_TOKEN}, from a Kubernetes Secret) or a session's {@link OwnerToken}, as a bearer token or as
 * HTTP Basic (user {@code operator} or the session id; password the token or the owner token's part after the dot),
 * which lets a browser open the audit page.
 */
@ApplicationScoped
public class ApiCredentials {

    /** Short tokens can be guessed; the tools generate 32 random bytes. */
    static final int MIN_OPERATOR_TOKEN_CHARS = 16;
    private static final Logger LOG = Logger.getLogger(ApiCredentials.class);
    private static final String SETTING = "gt.api.operator-token (env GT_OPERATOR_TOKEN)";

    @ConfigProperty(name = "gt.api.operator-token")
    Optional<String> operatorToken;

    @Inject
    SessionKeyLookup keys;

    void onStart(@Observes StartupEvent started) {
        ConfigProblems problems = new ConfigProblems("the HTTP API");
        Optional<String> token = configured();
        if (token.isEmpty()) {
            LOG.warnf("%s is not set: no request can authenticate as the operator, so every change over HTTP is "
                    + "refused", SETTING);
        } else if (token.get().length() < MIN_OPERATOR_TOKEN_CHARS) {
            problems.add(SETTING, "needs at least " + MIN_OPERATOR_TOKEN_CHARS + " characters, got "
                    + token.get().length());
        }
        problems.throwIfAny();
    }

    /** The caller an {@code Authorization} header value proves; nobody when absent or not recognised. */
    Caller authenticate(String authorization) {
        if (authorization == null || authorization.isBlank()) {
            return Caller.NOBODY;
        }
        String value = authorization.strip();
        int space = value.indexOf(' ');
        String scheme = space < 0 ? value : value.substring(0, space);
        String credentials = space < 0 ? "" : value.substring(space + 1).strip();
        if (scheme.equalsIgnoreCase("Bearer")) {
            return token(credentials);
        }
        if (scheme.equalsIgnoreCase("Basic")) {
            return basic(credentials);
        }
        return Caller.NOBODY;
    }

    private Caller token(String token) {
        if (isOperatorToken(token)) {
            return Caller.OPERATOR;
        }
        return OwnerToken.verify(token, keys::keyOf).map(Caller::ownerOf).orElse(Caller.NOBODY);
    }

    private Caller basic(String encoded) {
        String pair;
        try {
            pair = new String(Base64.getDecoder().decode(encoded), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            return Caller.NOBODY;
        }
        int colon = pair.indexOf(':');
        if (colon < 0) {
            return Caller.NOBODY;
        }
        String user = pair.substring(0, colon);
        String password = pair.substring(colon + 1);
        if (Caller.OPERATOR_ROLE.equals(user)) {
            return isOperatorToken(password) ? Caller.OPERATOR : Caller.NOBODY;
        }
        return token(user + "." + password);
    }

    private boolean isOperatorToken(String presented) {
        Optional<String> expected = configured();
        return expected.isPresent() && expected.get().length() >= MIN_OPERATOR_TOKEN_CHARS
                && MessageDigest.isEqual(expected.get().getBytes(StandardCharsets.UTF_8),
                presented.getBytes(StandardCharsets.UTF_8));
    }

    private Optional<String> configured() {
        return operatorToken.map(String::strip).filter(t -> !t.isEmpty());
    }
}
