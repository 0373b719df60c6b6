package io.guardedtuning.offline;

/** The fidelity guard refused to release an emulator: it would give away too much of the full model. */
public final class EmulatorRefusedException extends RuntimeException {

    public EmulatorRefusedException(String message) {
        super(message);
    }
}
