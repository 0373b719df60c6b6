package io.guardedtuning.emulator.rest;

import io.guardedtuning.emulator.service.JobService;
import jakarta.inject.Inject;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;

import java.util.Map;

@Path("/provider")
@Produces(MediaType.APPLICATION_JSON)
@Tag(name = "Provider")
public class ProviderResource {

    @Inject
    JobService jobs;

    @GET
    @Path("/public-key")
    @Operation(summary = "The Ed25519 public key (base64 X.509) emulator packages are signed with")
    public Map<String, String> publicKey() {
        return Map.of("algorithm", "Ed25519", "public_key", jobs.publicKeyBase64());
    }
}
