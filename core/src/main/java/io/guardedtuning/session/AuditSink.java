package io.guardedtuning.session;

import java.util.List;

/**
 * Where a client publishes the ground truth of sampled steps, for the auditor only (in production an ACL lets
 * nobody else read it). The auditor scores its reconstructions of the same step against it.
 */
@FunctionalInterface
public interface AuditSink {

    void publish(long step, List<int[]> sequences);

    AuditSink NONE = (step, sequences) -> { };
}
