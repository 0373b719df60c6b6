package io.guardedtuning.audit.rest;

import java.util.List;

/** A session in the list: whether it is audited, and each attack's latest finding. */
public record SessionSummary(String session, boolean enabled, List<AttackSummary> attacks) {
}
