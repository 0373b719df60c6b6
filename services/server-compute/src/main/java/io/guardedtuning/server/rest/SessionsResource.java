package io.guardedtuning.server.rest;

import io.guardedtuning.server.service.BackboneService;
import io.guardedtuning.service.rest.Caller;
import io.guardedtuning.session.SessionMeter;
import io.guardedtuning.wire.RejectReason;
import jakarta.inject.Inject;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.SecurityContext;
import org.eclipse.microprofile.openapi.annotations.Operation;

import java.util.Map;
import java.util.stream.Collectors;

@Path("/sessions")
@Produces(MediaType.APPLICATION_JSON)
public class SessionsResource {

    /** What this replica has done, per session, plus the records it dead-lettered. */
    public record SessionsView(Map<String, SessionMeter.Counters> sessions, Map<RejectReason, Long> deadLetters) {
    }

    @Inject
    BackboneService backbone;

    @GET
    @Operation(summary = "Per-session counters of this replica",
            description = "Bytes and messages in and out, backbone compute time, retries answered from the cache, "
                    + "resend requests and client restarts per session since this replica started; dead letters "
                    + "by reason. The operator sees every session and the dead letters; a session owner only its "
                    + "own session.")
    public SessionsView sessions(@Context SecurityContext security) {
        Caller caller = Caller.of(security);
        caller.requireAuthenticated();
        Map<String, SessionMeter.Counters> visible = backbone.sessions().entrySet().stream()
                .filter(e -> caller.maySee(e.getKey()))
                .collect(Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue));
        return new SessionsView(visible, caller.operator() ? backbone.rejections() : Map.of());
    }
}
