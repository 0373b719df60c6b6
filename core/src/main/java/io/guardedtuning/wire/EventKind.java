package io.guardedtuning.wire;

import java.util.Locale;

/** What an event carries. Tensor-bearing kinds must hold finite values; the others are opaque bytes. */
public enum EventKind {
    ACTIVATION_UP(true),
    ACTIVATION_DOWN(true),
    GRADIENT_UP(true),
    GRADIENT_DOWN(true),
    PACKAGE_CHUNK(false),
    ADAPTER(true),
    AUDIT_SAMPLE(false),
    CONTROL(false);

    private static final String TYPE_PREFIX = "io.guardedtuning.";

    private final boolean finiteRequired;

    EventKind(boolean finiteRequired) {
        this.finiteRequired = finiteRequired;
    }

    public boolean finiteRequired() {
        return finiteRequired;
    }

    /** The CloudEvents {@code type}, e.g. {@code io.guardedtuning.activation.up}. */
    public String cloudEventType() {
        return TYPE_PREFIX + name().toLowerCase(Locale.ROOT).replace('_', '.');
    }
}
