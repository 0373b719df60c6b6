package io.guardedtuning.messaging;

import java.util.List;
import java.util.regex.Pattern;

/**
 * Every Kafka topic GuardedTuning uses, in one place; services, tests, the local runner and the Kubernetes
 * manifests all take the names from here (or from docs/architecture.md, which lists the same).
 *
 * <p>Traffic towards the provider goes to shared topics keyed by session, read by the server-compute consumer group
 * (and tapped by attack-audit in its own group). Traffic towards a client goes to that session's own topic, so an
 * ACL on the prefix {@code gt.session.<id>.} confines a client to its own data.
 */
public final class Topics {

    /** Client to server: input-adapter outputs h_in (Online, Gradfree). */
    public static final String ACTIVATIONS_UP = "gt.activations.up";
    /** Client to server: upstream gradients dL/dh_out (Online only). */
    public static final String GRADIENTS_UP = "gt.gradients.up";
    /**
     * Clients to auditor: the scores of the auditor's reconstructions against each client's own text (numbers only;
     * the reconstructions themselves go to the session's down topic, the client's text nowhere).
     */
    public static final String AUDIT_SCORES = "gt.audit.scores";
    /** Auditor's leakage reports, compacted by session and attack. */
    public static final String AUDIT_REPORTS = "gt.audit.reports";
    /** Auditor's alerts when leakage crosses the configured threshold. */
    public static final String AUDIT_ALERTS = "gt.audit.alerts";
    /** Requests to build an emulator (Offline). */
    public static final String EMULATOR_REQUESTS = "gt.emulator.requests";
    /** Emulator job progress and results. */
    public static final String EMULATOR_PROGRESS = "gt.emulator.progress";
    /** Client to provider: tuned adapters coming back (Offline). */
    public static final String ADAPTERS_UP = "gt.adapters.up";
    /** Session lifecycle (start, finish, summaries). */
    public static final String SESSIONS = "gt.sessions";
    /** Events that failed validation, with the reason in headers. */
    public static final String DEAD_LETTER = "gt.dead-letter";

    public static final String SESSION_PREFIX = "gt.session.";

    private static final Pattern SESSION_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_-]{0,63}");

    private Topics() {
    }

    /**
     * Server (or emulator service, or auditor) to one client: activations and gradients down, emulator packages, the
     * auditor's reconstructions of the session's sampled steps.
     */
    public static String sessionDown(String sessionId) {
        return SESSION_PREFIX + requireSessionId(sessionId) + ".down";
    }

    public static String requireSessionId(String sessionId) {
        if (sessionId == null || !SESSION_ID.matcher(sessionId).matches()) {
            throw new IllegalArgumentException("session id '" + sessionId
                    + "' is invalid: use 1-64 characters of letters, digits, '_' or '-', starting alphanumeric");
        }
        return sessionId;
    }

    /** The shared topics a deployment creates up front (session topics are created per session). */
    public static List<String> shared() {
        return List.of(ACTIVATIONS_UP, GRADIENTS_UP, AUDIT_SCORES, AUDIT_REPORTS, AUDIT_ALERTS, EMULATOR_REQUESTS,
                EMULATOR_PROGRESS, ADAPTERS_UP, SESSIONS, DEAD_LETTER);
    }
}
