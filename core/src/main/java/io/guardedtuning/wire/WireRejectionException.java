package io.guardedtuning.wire;

/** Thrown inside the wire layer when an event or payload is unacceptable; the verifier turns it into a verdict. */
public final class WireRejectionException extends RuntimeException {

    private final RejectReason reason;

    public WireRejectionException(RejectReason reason, String detail) {
        super(detail);
        this.reason = reason;
    }

    public RejectReason reason() {
        return reason;
    }
}
