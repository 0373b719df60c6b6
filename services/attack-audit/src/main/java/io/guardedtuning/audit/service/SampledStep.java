package io.guardedtuning.audit.service;

import io.guardedtuning.attack.KnownDefence;
import io.guardedtuning.tensor.HostTensor;

/**
 * One sampled step as tapped from the wire: the pass it belongs to, the activation and its lengths, and in Online
 * the upstream gradient of the same step ({@code gOut} null when none crossed); {@code defence} is what the
 * session announced of its defence, for the adaptive attacker.
 */
public record SampledStep(String session, String pass, long step, HostTensor hIn, long[] lengths, HostTensor gOut,
                          KnownDefence defence) {

    public boolean hasGradient() {
        return gOut != null;
    }
}
