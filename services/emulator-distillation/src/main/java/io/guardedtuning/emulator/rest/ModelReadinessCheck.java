package io.guardedtuning.emulator.rest;

import io.guardedtuning.checkpoint.HfCheckpoint;
import io.guardedtuning.emulator.config.EmulatorConfig;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

import java.io.IOException;

/** Ready when the provider's model directory is readable (its config.json parses). */
@Readiness
@ApplicationScoped
public class ModelReadinessCheck implements HealthCheck {

    @Inject
    EmulatorConfig config;

    @Override
    public HealthCheckResponse call() {
        try {
            int layers = HfCheckpoint.readConfig(config.model()).numHiddenLayers();
            return HealthCheckResponse.named("provider-model").up().withData("layers", layers).build();
        } catch (IOException | RuntimeException e) {
            return HealthCheckResponse.named("provider-model").down().withData("error", String.valueOf(e.getMessage()))
                    .build();
        }
    }
}
