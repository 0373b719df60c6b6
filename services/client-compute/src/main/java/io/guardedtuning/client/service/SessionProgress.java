package io.guardedtuning.client.service;

import io.guardedtuning.session.RemoteBackboneLink;

/** Where the session stands, for GET /session and the metrics; updated by the session thread. */
public record SessionProgress(Phase phase, long step, long totalSteps, double lastLoss,
                              RemoteBackboneLink.Stats link, String error) {

    public enum Phase {
        /** Waiting for POST /session/start (autostart off). */
        IDLE,
        LOADING,
        EVALUATING_BEFORE,
        TRAINING,
        EVALUATING_AFTER,
        DONE,
        FAILED
    }
}
