package io.guardedtuning.deploy.k8s;

import io.guardedtuning.messaging.Topics;

/** What `gt k8s session start` launches: the session id and the client's GT_* settings. */
public record SessionSpec(String sessionId, Design design, int splitK, double alpha, int bitsUp, int bitsDown,
                          SessionTask task) {

    public SessionSpec {
        Topics.requireSessionId(sessionId);
        if (design == null) {
            throw new IllegalArgumentException("a session needs a design (online, gradfree or offline)");
        }
        if (splitK < 1) {
            throw new IllegalArgumentException("split k must be at least 1, got " + splitK);
        }
        if (!(alpha >= 0.0) || Double.isInfinite(alpha)) {
            throw new IllegalArgumentException("alpha must be a finite number >= 0, got " + alpha);
        }
        requireBits("bits-up", bitsUp);
        requireBits("bits-down", bitsDown);
        if (task == null) {
            throw new IllegalArgumentException("a session needs a task (e.g. imdb-sentiment)");
        }
    }

    private static void requireBits(String name, int bits) {
        if (bits < 1 || bits > 32) {
            throw new IllegalArgumentException(name + " must be between 1 and 32, got " + bits);
        }
    }

    /** A compact form stored on the session's Job, to tell a repeated start from a conflicting one. */
    public String summary() {
        return "design=" + design.envValue() + ",k=" + splitK + ",alpha=" + alpha + ",bits-up=" + bitsUp
                + ",bits-down=" + bitsDown + ",task=" + task.name() + ",train-size=" + task.trainSize()
                + ",eval-size=" + task.evalSize();
    }
}
