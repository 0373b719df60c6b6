package io.guardedtuning.offline;

/** An emulator package or returned adapter that must not be used, and why. */
public final class PackageRejectedException extends Exception {

    public enum Reason {
        MALFORMED,
        BAD_SIGNATURE,
        DIGEST_MISMATCH,
        WRONG_SESSION,
        NOT_AN_ADAPTER
    }

    private final Reason reason;

    public PackageRejectedException(Reason reason, String message) {
        super(reason + ": " + message);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }
}
