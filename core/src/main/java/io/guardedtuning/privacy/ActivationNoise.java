package io.guardedtuning.privacy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.guardedtuning.engine.DjlRuntime;
import io.guardedtuning.model.OptModel;
import io.guardedtuning.model.Split;
import io.guardedtuning.model.TokenBatch;
import io.guardedtuning.tensor.HostTensor;

import java.util.List;
import java.util.Random;

/**
 * Gaussian noise the client adds to h_in before it leaves (the attacker knows σ and trains through it). It is
 * calibrated, not absolute: the data owner sets σ as a multiple of the RMS of the client's own h_in over public text,
 * so one setting means the same signal-to-noise ratio whatever the model's activation scale; the calibrated σ is
 * what the session announces. Noise is drawn from a seed the client keeps, per (pass, step), so that a resumed
 * session sends the same tensors and a repeated batch is not re-noised independently (no averaging it out).
 */
public final class ActivationNoise {

    private final float std;

    public ActivationNoise(float std) {
        if (!(std >= 0) || Float.isInfinite(std)) {
            throw new IllegalArgumentException("noise std must be finite and >= 0, got " + std);
        }
        this.std = std;
    }

    /** σ = {@code relative} × RMS of the input adapter's outputs on {@code publicText}. */
    public static ActivationNoise calibrated(float relative, OptModel client, Split split, List<int[]> publicText) {
        if (!(relative >= 0)) {
            throw new IllegalArgumentException("relative noise must be >= 0, got " + relative);
        }
        return new ActivationNoise(relative == 0 ? 0f : (float) (relative * rms(client, split, publicText)));
    }

    /** Root mean square of h_in's coordinates over the real tokens of {@code sequences}. */
    public static double rms(OptModel client, Split split, List<int[]> sequences) {
        if (sequences.isEmpty()) {
            throw new IllegalArgumentException("calibrating noise needs public text");
        }
        return DjlRuntime.withoutGradients(() -> {
            try (NDManager scope = DjlRuntime.newManager();
                 TokenBatch batch = TokenBatch.of(scope, sequences, null, client.config().padTokenId())) {
                NDArray h = client.blocks(client.embed(batch), batch, 0, split.k());
                NDArray mask = batch.attentionMask().expandDims(-1);
                double sum = h.square().mul(mask).sum().getFloat();
                double count = mask.sum().getFloat() * h.getShape().get(2);
                return Math.sqrt(sum / count);
            }
        });
    }

    public float std() {
        return std;
    }

    /** {@code h + N(0, σ²)}, drawn from {@code seed}; the input is left as it was. */
    public HostTensor apply(HostTensor h, long seed) {
        if (std == 0) {
            return h;
        }
        Random random = new Random(seed);
        float[] out = h.data().clone();
        for (int i = 0; i < out.length; i++) {
            out[i] += (float) random.nextGaussian() * std;
        }
        return new HostTensor(h.shape().clone(), out);
    }

    /** The seed of one send: the client's secret mixed with the pass and step (SplitMix64 finaliser). */
    public static long seedFor(long secret, long pass, long step) {
        long z = secret ^ (pass * 0x9E3779B97F4A7C15L) ^ (step * 0xC2B2AE3D27D4EB4FL);
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
