package io.guardedtuning.server.health;

import io.guardedtuning.server.service.BackboneService;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/** Ready once the backbone is loaded (SmallRye adds its own checks of the Kafka channels). */
@Readiness
@ApplicationScoped
public class BackboneReadiness implements HealthCheck {

    @Inject
    BackboneService backbone;

    @Override
    public HealthCheckResponse call() {
        return HealthCheckResponse.named("backbone").status(backbone.ready()).build();
    }
}
