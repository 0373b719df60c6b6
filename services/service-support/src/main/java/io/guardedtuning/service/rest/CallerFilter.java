package io.guardedtuning.service.rest;

import jakarta.inject.Inject;
import jakarta.ws.rs.HttpMethod;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.container.ContainerRequestFilter;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.ext.Provider;

import java.util.Set;

/**
 * Authenticates every REST request (health, metrics and OpenAPI are not REST resources and stay open) and applies
 * the one blanket rule: a request that may change state (anything but GET, HEAD, OPTIONS) needs the operator.
 * Reads are checked by each resource against the session they show ({@link Caller#requireSession}).
 */
@Provider
public class CallerFilter implements ContainerRequestFilter {

    /** The {@code WWW-Authenticate} challenges of a 401: Basic makes a browser ask for the credentials. */
    static final String CHALLENGE = "Bearer realm=\"guardedtuning\"";
    static final String BASIC_CHALLENGE = "Basic realm=\"guardedtuning\", charset=\"UTF-8\"";
    private static final Set<String> READS = Set.of(HttpMethod.GET, HttpMethod.HEAD, HttpMethod.OPTIONS);

    @Inject
    ApiCredentials credentials;

    @Override
    public void filter(ContainerRequestContext request) {
        Caller caller = credentials.authenticate(request.getHeaderString(HttpHeaders.AUTHORIZATION));
        request.setSecurityContext(caller);
        if (!READS.contains(request.getMethod())) {
            caller.requireOperator();
        }
    }
}
