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
    /** Auditor to one client, on its own down topic: the reconstructions of a sampled step (token ids). */
    AUDIT_RECONSTRUCTION(false),
    /** Client to auditor: the scores of those reconstructions against the client's own text (numbers only). */
    AUDIT_SCORE(false),
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
