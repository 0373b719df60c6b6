package io.guardedtuning.audit.service;

import io.guardedtuning.attack.KnownDefence;
import io.guardedtuning.tensor.HostTensor;

/**
 * One sampled step as tapped from the wire: the pass it belongs to, the activation and its lengths, and in Online
 * the upstream gradient of the same step ({@code gOut} null when none crossed); {@code defence} is what the
 * session announced of its defence, for the adaptive attacker. A step sent in micro-batches is sampled per part:
 * {@code microBatch} names it and {@code firstRow} is the batch row its first row is, so the client scores it against
 * those rows.
 */
public record SampledStep(String session, String pass, long step, HostTensor hIn, long[] lengths, HostTensor gOut,
                          KnownDefence defence, int microBatch, int firstRow) {

    public boolean hasGradient() {
        return gOut != null;
    }
}
