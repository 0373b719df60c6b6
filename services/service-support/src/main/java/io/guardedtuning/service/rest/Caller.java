package io.guardedtuning.service.rest;

import jakarta.ws.rs.ForbiddenException;
import jakarta.ws.rs.NotAuthorizedException;
import jakarta.ws.rs.core.SecurityContext;

import java.security.Principal;
import java.util.Optional;

/**
 * Who sent an HTTP request, as {@link CallerFilter} authenticated it: the operator, the owner of one session, or
 * nobody. Resources read it from their {@code @Context SecurityContext} with {@link #of}.
 *
 * @param operator true for the provider's operator (may read and change everything)
 * @param owner    the session whose owner token was presented; empty for the operator and for nobody
 */
public record Caller(boolean operator, Optional<String> owner) implements SecurityContext {

    public static final String OPERATOR_ROLE = "operator";
    public static final String OWNER_ROLE = "owner";
    static final Caller NOBODY = new Caller(false, Optional.empty());
    static final Caller OPERATOR = new Caller(true, Optional.empty());

    static Caller ownerOf(String session) {
        return new Caller(false, Optional.of(session));
    }

    public static Caller of(SecurityContext context) {
        return context instanceof Caller c ? c : NOBODY;
    }

    /** The operator, or the owner of {@code session}. */
    public boolean maySee(String session) {
        return operator || owner.filter(session::equals).isPresent();
    }

    /** 401 for nobody, 403 for the owner of another session. */
    public void requireSession(String session) {
        requireAuthenticated();
        if (!maySee(session)) {
            throw new ForbiddenException("the token of session " + owner.orElse("?") + " does not give access to session "
                    + session);
        }
    }

    public void requireOperator() {
        requireAuthenticated();
        if (!operator) {
            throw new ForbiddenException("only the operator may do this; a session owner's token is for reading "
                    + "its own session");
        }
    }

    public void requireAuthenticated() {
        if (!operator && owner.isEmpty()) {
            throw new NotAuthorizedException("authentication required: send 'Authorization: Bearer <token>' with "
                    + "the operator token or the session's owner token (docs/security.md)", CallerFilter.CHALLENGE);
        }
    }

    @Override
    public Principal getUserPrincipal() {
        if (operator) {
            return () -> OPERATOR_ROLE;
        }
        return owner.<Principal>map(s -> () -> s).orElse(null);
    }

    @Override
    public boolean isUserInRole(String role) {
        return operator ? OPERATOR_ROLE.equals(role) : owner.isPresent() && OWNER_ROLE.equals(role);
    }

    @Override
    public boolean isSecure() {
        return false;
    }

    @Override
    public String getAuthenticationScheme() {
        return operator || owner.isPresent() ? "Bearer" : null;
    }
}
