package io.guardedtuning.split;

import java.util.Locale;

/** The three GuardedTuning designs. */
public enum Design {
    /** Activations and gradients cross; both adapters train. */
    ONLINE,
    /** Only activations cross, forward only; the output adapter trains. */
    GRADFREE,
    /** Nothing crosses per step: the client tunes adapters around an emulator; adapters come back once. */
    OFFLINE;

    public static Design parse(String value) {
        try {
            return valueOf(value.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException | NullPointerException e) {
            throw new IllegalArgumentException("unknown design '" + value + "' (known: online, gradfree, offline)");
        }
    }

    public boolean gradientsCross() {
        return this == ONLINE;
    }

    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }
}
