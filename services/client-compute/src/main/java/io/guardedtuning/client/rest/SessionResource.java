package io.guardedtuning.client.rest;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.guardedtuning.client.service.SessionProgress;
import io.guardedtuning.client.service.SessionService;
import io.guardedtuning.service.rest.Caller;
import jakarta.inject.Inject;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.SecurityContext;
import org.eclipse.microprofile.openapi.annotations.Operation;

/** This client's session: read by the operator or the session's owner; started by the operator (docs/security.md). */
@Path("/session")
@Produces(MediaType.APPLICATION_JSON)
public class SessionResource {

    /** Progress, plus the summary once the run ended. */
    public record SessionView(SessionProgress progress, ObjectNode summary) {
    }

    @Inject
    SessionService session;

    @GET
    @Operation(summary = "This client's session",
            description = "Phase, step, total steps, last loss and link statistics; the run summary when done.")
    public SessionView get(@Context SecurityContext security) {
        Caller.of(security).requireSession(session.key().sessionId());
        return new SessionView(session.progress(), session.summary().orElse(null));
    }

    @POST
    @Path("/start")
    @Operation(summary = "Start the session",
            description = "For a client configured without autostart: 202 when started, 409 when already started. "
                    + "Operator only.")
    public Response start() {
        return session.start() ? Response.accepted(session.progress()).build()
                : Response.status(Response.Status.CONFLICT).entity(session.progress()).build();
    }
}
