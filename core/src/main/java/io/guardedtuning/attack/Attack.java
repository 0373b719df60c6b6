package io.guardedtuning.attack;

/**
 * A data-reconstruction attack by the honest-but-curious server. It sees only an {@link Observation} (the wire)
 * and a {@link ThreatModel} (pretrained surrogates and public knowledge), never the client's fine-tuned weights or
 * data. Implementations never throw on malformed observations: they return {@link Reconstruction#nothing}.
 */
public interface Attack {

    String name();

    /** Whether the observation carries what this attack needs (gradient attacks need {@code gOut} and {@code hOut}). */
    boolean applicable(Observation observation);

    Reconstruction attack(Observation observation, ThreatModel threatModel);
}
