package io.guardedtuning.emulator.rest;

import io.guardedtuning.emulator.service.JobService;
import io.guardedtuning.emulator.service.JobStatus;
import io.guardedtuning.service.rest.Caller;
import jakarta.inject.Inject;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.NotFoundException;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.SecurityContext;
import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;

import java.util.Collection;
import java.util.Map;

/** Jobs are read by the operator or their session's owner; cancelling needs the operator (docs/security.md). */
@Path("/jobs")
@Produces(MediaType.APPLICATION_JSON)
@Tag(name = "Emulator jobs")
public class JobsResource {

    @Inject
    JobService jobs;

    @GET
    @Operation(summary = "All emulator jobs this service knows, with phase, progress and results")
    public Collection<JobStatus> list(@Context SecurityContext security) {
        Caller caller = Caller.of(security);
        caller.requireAuthenticated();
        return jobs.statuses().stream().filter(s -> caller.maySee(s.session())).toList();
    }

    @GET
    @Path("/{session}")
    @Operation(summary = "One session's emulator job")
    public JobStatus get(@PathParam("session") String session, @Context SecurityContext security) {
        Caller.of(security).requireSession(session);
        return jobs.status(session).orElseThrow(() -> new NotFoundException("no emulator job for session " + session));
    }

    @POST
    @Path("/{session}/cancel")
    @Operation(summary = "Cancel a job; distillation stops at its next step, nothing is released; operator only")
    public Response cancel(@PathParam("session") String session) {
        if (!jobs.cancel(session)) {
            throw new NotFoundException("no emulator job for session " + session);
        }
        return Response.accepted(Map.of("session", session, "cancel", "requested")).build();
    }
}
