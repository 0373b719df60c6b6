package io.guardedtuning.audit.rest;

import io.guardedtuning.audit.service.LeakageSeries;
import io.guardedtuning.session.AuditedSteps;

import java.util.List;

/**
 * Everything found on one session: the headline (max over scored training steps of the strongest attack, with its
 * chance floor; null until a training step is scored) and leakage over steps per pass and attack.
 */
public record SessionReport(String session, boolean enabled, double alertThreshold, AuditedSteps.Headline headline,
                            List<AttackSummary> attacks, List<LeakageSeries> series) {
}
