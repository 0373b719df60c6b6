package io.guardedtuning.audit.service;

import io.guardedtuning.tensor.HostTensor;

/**
 * One sampled step as tapped from the wire: the activation and its lengths, and in Online the upstream gradient of
 * the same step ({@code gOut} null when none crossed).
 */
public record SampledStep(String session, long step, HostTensor hIn, long[] lengths, HostTensor gOut) {

    public boolean hasGradient() {
        return gOut != null;
    }
}
