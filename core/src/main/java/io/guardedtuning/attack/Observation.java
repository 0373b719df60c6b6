package io.guardedtuning.attack;

import io.guardedtuning.tensor.HostTensor;

/**
 * What crossed the wire in one sampled training step, as the server saw it: the (possibly quantised) activation
 * {@code hIn} [B, T, d] and the attention lengths; in the Online design also the upstream gradient
 * {@code gOut = ∂L/∂h_out} and the server's own output {@code hOut}, both [B, T, d]. Gradfree steps carry no
 * gradient ({@code gOut} and {@code hOut} may be null).
 */
public record Observation(String session, long step, HostTensor hIn, long[] lengths, HostTensor gOut,
                          HostTensor hOut) {

    public Observation {
        lengths = lengths == null ? new long[0] : lengths.clone();
    }

    public static Observation forwardOnly(String session, long step, HostTensor hIn, long[] lengths) {
        return new Observation(session, step, hIn, lengths, null, null);
    }

    @Override
    public long[] lengths() {
        return lengths.clone();
    }

    public boolean hasGradient() {
        return gOut != null && hOut != null;
    }
}
