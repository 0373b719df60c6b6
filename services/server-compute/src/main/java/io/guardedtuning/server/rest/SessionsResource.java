package io.guardedtuning.server.rest;

import io.guardedtuning.server.service.BackboneService;
import io.guardedtuning.session.SessionMeter;
import io.guardedtuning.wire.RejectReason;
import jakarta.inject.Inject;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import org.eclipse.microprofile.openapi.annotations.Operation;

import java.util.Map;

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
                    + "by reason.")
    public SessionsView sessions() {
        return new SessionsView(backbone.sessions(), backbone.rejections());
    }
}
