package io.guardedtuning.client.service;

import io.guardedtuning.session.RemoteBackboneLink;

/** Where the session stands, for GET /session and the metrics; updated by the session thread. */
public record SessionProgress(Phase phase, long step, long totalSteps, double lastLoss,
                              RemoteBackboneLink.Stats link, String error) {

    public enum Phase {
        /** Waiting for POST /session/start (autostart off). */
        IDLE,
        LOADING,
        /** Offline: the emulator was requested; its package has not arrived yet. */
        AWAITING_PACKAGE,
        EVALUATING_BEFORE,
        TRAINING,
        EVALUATING_AFTER,
        /** Split designs: scoring the auditor's reconstructions of the sampled training steps (gt.client.audit-wait). */
        AWAITING_AUDIT,
        /** Offline: the tuned adapters are on their way back to the provider. */
        SENDING_ADAPTERS,
        DONE,
        FAILED
    }
}
