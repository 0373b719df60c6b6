package io.guardedtuning.session;

import io.guardedtuning.messaging.Topics;
import io.guardedtuning.model.OptConfig;
import io.guardedtuning.model.Split;
import io.guardedtuning.split.Design;

import java.util.ArrayList;
import java.util.List;

/**
 * One tuning session as its owner configures it. Validated as a whole, so a misconfigured service stops at start
 * with every problem named at once.
 *
 * @param bitsUp         precision of h_in on the wire (32, 16, 8, 4)
 * @param bitsDown       precision of h_out
 * @param gradientBitsUp precision of dL/dh_out (Online)
 * @param gradientBitsDown precision of dL/dh_in (Online)
 * @param checkpointEvery save client state every this many steps (0: never)
 * @param auditEvery     publish ground truth for the auditor every this many steps (0: never)
 * @param maxSteps       stop after this many steps (0: all epochs)
 */
public record SessionSettings(String sessionId, Design design, int k, float alpha, int bitsUp, int bitsDown,
                              int gradientBitsUp, int gradientBitsDown, int batchSize, float learningRate,
                              int epochs, long seed, int checkpointEvery, int auditEvery, int maxSteps) {

    public SessionSettings {
        List<String> errors = new ArrayList<>();
        try {
            Topics.requireSessionId(sessionId);
        } catch (IllegalArgumentException e) {
            errors.add(e.getMessage());
        }
        if (design == null) {
            errors.add("design is required (online, gradfree, offline)");
        }
        if (k < 1) {
            errors.add("split point k must be >= 1, got " + k);
        }
        if (!(alpha >= 0)) {
            errors.add("alpha must be >= 0, got " + alpha);
        }
        if (design == Design.GRADFREE && alpha > 0) {
            errors.add("alpha > 0 needs a trained input adapter; in Gradfree it is frozen (use alpha = 0)");
        }
        for (int[] b : new int[][] {{bitsUp, 0}, {bitsDown, 1}, {gradientBitsUp, 2}, {gradientBitsDown, 3}}) {
            try {
                Precision.requireSupported(new String[] {"bits up", "bits down", "gradient bits up",
                        "gradient bits down"}[b[1]], b[0]);
            } catch (IllegalArgumentException e) {
                errors.add(e.getMessage());
            }
        }
        if (batchSize < 1) {
            errors.add("batch size must be >= 1, got " + batchSize);
        }
        if (!(learningRate > 0)) {
            errors.add("learning rate must be > 0, got " + learningRate);
        }
        if (epochs < 1) {
            errors.add("epochs must be >= 1, got " + epochs);
        }
        if (checkpointEvery < 0 || auditEvery < 0 || maxSteps < 0) {
            errors.add("checkpoint-every, audit-every and max-steps must be >= 0");
        }
        if (!errors.isEmpty()) {
            throw new IllegalArgumentException("invalid session settings: " + String.join("; ", errors));
        }
    }

    /** Checks the settings against the model they will run on. */
    public Split split(OptConfig config) {
        try {
            return Split.of(k, config);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("invalid session settings: " + e.getMessage());
        }
    }

    public static SessionSettings defaults(String sessionId, Design design) {
        return new SessionSettings(sessionId, design, 2, 0f, 32, 32, 32, 32, 8, 1e-3f, 1, 1, 0, 0, 0);
    }

    public SessionSettings withAlpha(float a) {
        return new SessionSettings(sessionId, design, k, a, bitsUp, bitsDown, gradientBitsUp, gradientBitsDown,
                batchSize, learningRate, epochs, seed, checkpointEvery, auditEvery, maxSteps);
    }

    public SessionSettings withBits(int up, int down, int gradUp, int gradDown) {
        return new SessionSettings(sessionId, design, k, alpha, up, down, gradUp, gradDown, batchSize, learningRate,
                epochs, seed, checkpointEvery, auditEvery, maxSteps);
    }

    public SessionSettings withTraining(int batch, float lr, int epochCount, int steps) {
        return new SessionSettings(sessionId, design, k, alpha, bitsUp, bitsDown, gradientBitsUp, gradientBitsDown,
                batch, lr, epochCount, seed, checkpointEvery, auditEvery, steps);
    }

    public SessionSettings withCheckpointsAndAudit(int every, int audit) {
        return new SessionSettings(sessionId, design, k, alpha, bitsUp, bitsDown, gradientBitsUp, gradientBitsDown,
                batchSize, learningRate, epochs, seed, every, audit, maxSteps);
    }
}
