package io.guardedtuning.split;

/**
 * The server cannot run backward for a step because it no longer holds (or never saw) the step's activation, e.g.
 * after eviction or a consumer-group rebalance. The client answers by sending the activation again.
 */
public class MissingActivationException extends RuntimeException {

    private final String sessionId;
    private final long step;

    public MissingActivationException(String sessionId, long step) {
        super("no activation held for session " + sessionId + " step " + step + "; the client must resend it");
        this.sessionId = sessionId;
        this.step = step;
    }

    public String sessionId() {
        return sessionId;
    }

    public long step() {
        return step;
    }
}
