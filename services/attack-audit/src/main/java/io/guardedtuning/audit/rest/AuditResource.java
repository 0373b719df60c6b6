package io.guardedtuning.audit.rest;

import io.guardedtuning.audit.service.AuditService;
import io.guardedtuning.audit.service.LeakageSeries;
import io.guardedtuning.service.rest.Caller;
import jakarta.inject.Inject;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.BadRequestException;
import jakarta.ws.rs.NotFoundException;
import jakarta.ws.rs.PUT;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.SecurityContext;
import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.responses.APIResponse;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;

import java.util.List;

/**
 * The audit results over HTTP. Reading a session's results needs its owner token or the operator token; the list
 * shows an owner only its own session; switching auditing needs the operator (docs/security.md).
 */
@Path("/audit/sessions")
@Produces(MediaType.APPLICATION_JSON)
@Tag(name = "attack-audit", description = "Leakage found by data-reconstruction attacks on sampled steps, as scored "
        + "by each session's client against its own text")
public class AuditResource {

    @Inject
    AuditService audit;

    @GET
    @Operation(summary = "Sessions seen on the tapped topics, with each attack's latest leakage",
            description = "All sessions for the operator; for a session owner, only its own.")
    @APIResponse(responseCode = "401", description = "No valid token")
    public List<SessionSummary> sessions(@Context SecurityContext security) {
        Caller caller = Caller.of(security);
        caller.requireAuthenticated();
        return audit.sessions().stream().filter(caller::maySee).map(this::summary).toList();
    }

    @GET
    @Path("/{id}")
    @Operation(summary = "Leakage over steps per attack for one session")
    @APIResponse(responseCode = "200", description = "The session's report")
    @APIResponse(responseCode = "401", description = "No valid token")
    @APIResponse(responseCode = "403", description = "The token is another session's")
    @APIResponse(responseCode = "404", description = "No traffic of this session was seen")
    public SessionReport session(@PathParam("id") String id, @Context SecurityContext security) {
        Caller.of(security).requireSession(id);
        requireKnown(id);
        List<LeakageSeries> series = audit.session(id);
        return new SessionReport(id, audit.enabled(id), audit.alertThreshold(), audit.headline(id),
                series.stream().map(AttackSummary::of).toList(), series);
    }

    @PUT
    @Path("/{id}/enabled")
    @Operation(summary = "Switch auditing of a session on or off (body: true or false); operator only")
    @APIResponse(responseCode = "200", description = "The session's summary after the change")
    @APIResponse(responseCode = "400", description = "The body is not true or false")
    @APIResponse(responseCode = "404", description = "No traffic of this session was seen (sessions not yet seen "
            + "are switched off with gt.audit.sampling.disabled-sessions, so unknown ids cannot grow state)")
    public SessionSummary setEnabled(@PathParam("id") String id, Boolean enabled) {
        if (enabled == null) {
            throw new BadRequestException("the body must be true or false");
        }
        requireKnown(id);
        try {
            audit.setEnabled(id, enabled);
        } catch (IllegalArgumentException e) {
            throw new BadRequestException(e.getMessage());
        }
        return summary(id);
    }

    private void requireKnown(String id) {
        if (!audit.known(id)) {
            throw new NotFoundException("no traffic of session '" + id + "' was seen");
        }
    }

    private SessionSummary summary(String id) {
        return new SessionSummary(id, audit.enabled(id),
                audit.session(id).stream().map(AttackSummary::of).toList());
    }
}
