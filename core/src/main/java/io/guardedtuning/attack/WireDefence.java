package io.guardedtuning.attack;

import ai.djl.ndarray.NDArray;
import io.guardedtuning.privacy.ActivationQuantizer;

import java.util.Random;

/**
 * A defence applied to {@code h_in} before it crosses the wire, as far as an attacker knows it: optional Gaussian
 * noise, then per-token asymmetric quantisation to {@code activationBits} (0 = full precision). Used to simulate
 * the client in tests and, by SIP, to train its inverter on what the wire really carries.
 */
public record WireDefence(int activationBits, float noiseStd) {

    public static final WireDefence NONE = new WireDefence(0, 0f);

    public WireDefence {
        if (activationBits < 0 || activationBits > 16) {
            throw new IllegalArgumentException("activationBits must be 0 (off) or 1..16, got " + activationBits);
        }
        if (!(noiseStd >= 0)) {
            throw new IllegalArgumentException("noiseStd must be >= 0, got " + noiseStd);
        }
    }

    public boolean isNone() {
        return activationBits == 0 && noiseStd == 0;
    }

    /** The defended activations; never differentiated. {@code seed} draws the noise. */
    public NDArray apply(NDArray h, long seed) {
        NDArray out = h.stopGradient();
        if (noiseStd > 0) {
            out = out.add(noise(out, seed));
        }
        return activationBits == 0 ? out : new ActivationQuantizer(activationBits).quantize(out);
    }

    /** Gaussian noise N(0, noiseStd²) of {@code like}'s shape, in its manager; {@code seed} draws it. */
    NDArray noise(NDArray like, long seed) {
        Random random = new Random(seed);
        float[] noise = new float[Math.toIntExact(like.size())];
        for (int i = 0; i < noise.length; i++) {
            noise[i] = (float) random.nextGaussian() * noiseStd;
        }
        return like.getManager().create(noise, like.getShape());
    }

    @Override
    public String toString() {
        return isNone() ? "none" : (activationBits == 0 ? "fp32" : activationBits + "-bit")
                + (noiseStd > 0 ? " + N(0, " + noiseStd + "²)" : "");
    }
}
