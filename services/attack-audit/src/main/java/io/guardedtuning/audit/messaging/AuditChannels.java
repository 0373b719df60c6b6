package io.guardedtuning.audit.messaging;

/** Channel names (configured in application.properties; tests use the same constants). */
public final class AuditChannels {

    /** In: the tapped topics (activations up, gradients up, the clients' audit scores) as group attack-audit. */
    public static final String TAP = "audit-tap";
    /** Out: records that failed verification, to the dead-letter topic. */
    public static final String DEAD_LETTERS = "audit-dead-letters";
    /** Out: reconstructions of sampled steps, each to its session's own down topic (set per record). */
    public static final String RECONSTRUCTIONS = "audit-reconstructions";
    /** Out: leakage series to the compacted reports topic. */
    public static final String REPORTS = "audit-reports";
    /** Out: threshold alerts. */
    public static final String ALERTS = "audit-alerts";
    /** Consumer group of the tap: its own, so the audit never holds back the training consumers. */
    public static final String GROUP = "attack-audit";
    /** Header added to the auditor's dead letters, to tell them from the server's copies of the same record. */
    public static final String DEAD_LETTER_GROUP_HEADER = "gt_dlq_group";

    private AuditChannels() {
    }
}
