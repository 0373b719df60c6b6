package io.guardedtuning.attack;

import io.guardedtuning.tensor.HostTensor;

/**
 * What crossed the wire in one sampled training step, as the server saw it: the (possibly quantised) activation
 * {@code hIn} [B, T, d] and the attention lengths; in the Online design also the upstream gradient
 * {@code gOut = ∂L/∂h_out} and the server's own output {@code hOut}, both [B, T, d]. Gradfree steps carry no
 * gradient ({@code gOut} and {@code hOut} may be null). {@code defence} is what the session announced of its
 * defence (null when nothing was announced: adaptive attacks then fall back to the threat model's wire defence).
 * {@code step} counts the client's updates before this one, which is how far its adapters have drifted.
 */
public record Observation(String session, long step, HostTensor hIn, long[] lengths, HostTensor gOut,
                          HostTensor hOut, KnownDefence defence) {

    public Observation {
        lengths = lengths == null ? new long[0] : lengths.clone();
    }

    public Observation(String session, long step, HostTensor hIn, long[] lengths, HostTensor gOut, HostTensor hOut) {
        this(session, step, hIn, lengths, gOut, hOut, null);
    }

    public static Observation forwardOnly(String session, long step, HostTensor hIn, long[] lengths) {
        return new Observation(session, step, hIn, lengths, null, null);
    }

    /** The same observation with the session's announced defence. */
    public Observation withDefence(KnownDefence announced) {
        return new Observation(session, step, hIn, lengths, gOut, hOut, announced);
    }

    @Override
    public long[] lengths() {
        return lengths.clone();
    }

    public boolean hasGradient() {
        return gOut != null && hOut != null;
    }

    /** The wire defence to train through: the announced one, else the one the threat model was built with. */
    WireDefence wire(ThreatModel threatModel) {
        return defence == null ? threatModel.knownDefence() : defence.wire();
    }
}
