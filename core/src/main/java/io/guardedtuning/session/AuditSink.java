package io.guardedtuning.session;

import java.util.List;

/**
 * Where a client keeps the token ids of its steps for its own audit scoring: they never leave the client. The
 * auditor sends its reconstructions of a sampled step to the client, which scores them against what it kept here
 * ({@link AuditedSteps}).
 */
@FunctionalInterface
public interface AuditSink {

    /**
     * One step of a pass: its rows (token ids, no padding) and whether its activation crossed the wire (a Gradfree
     * epoch after the first sends none, so nothing of it can be attacked).
     */
    void step(String pass, long step, List<int[]> sequences, boolean crossed);

    AuditSink NONE = (pass, step, sequences, crossed) -> { };
}
