package io.guardedtuning.deploy.k8s;

import java.util.Locale;

/** The split fine-tuning designs a session can run (GT_DESIGN). */
public enum Design {
    ONLINE,
    GRADFREE,
    OFFLINE;

    public String envValue() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Offline sessions train against an emulator that emulator-distillation builds first. */
    public boolean needsEmulator() {
        return this == OFFLINE;
    }
}
