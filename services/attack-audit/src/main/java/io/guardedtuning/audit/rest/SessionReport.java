package io.guardedtuning.audit.rest;

import io.guardedtuning.audit.service.LeakageSeries;

import java.util.List;

/** Everything found on one session: leakage over steps per attack. */
public record SessionReport(String session, boolean enabled, double alertThreshold, List<AttackSummary> attacks,
                            List<LeakageSeries> series) {
}
