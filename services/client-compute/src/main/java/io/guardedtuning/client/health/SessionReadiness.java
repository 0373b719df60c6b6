package io.guardedtuning.client.health;

import io.guardedtuning.client.service.SessionProgress;
import io.guardedtuning.client.service.SessionService;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/**
 * Ready once the model is loaded (from the first evaluation on, and after a finished run), and while waiting for
 * POST /session/start, which must be reachable; not ready while loading or after a failure.
 */
@Readiness
@ApplicationScoped
public class SessionReadiness implements HealthCheck {

    @Inject
    SessionService session;

    @Override
    public HealthCheckResponse call() {
        SessionProgress.Phase phase = session.progress().phase();
        boolean ready = phase != SessionProgress.Phase.LOADING && phase != SessionProgress.Phase.FAILED;
        return HealthCheckResponse.named("session").status(ready).withData("phase", phase.name()).build();
    }
}
