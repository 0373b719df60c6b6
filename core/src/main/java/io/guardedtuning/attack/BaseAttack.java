package io.guardedtuning.attack;

import ai.djl.ndarray.NDArray;
import io.guardedtuning.engine.DjlRuntime;

import java.util.ArrayList;
import java.util.List;

/**
 * Shared frame of every attack: checks the observation against the threat model, times the run, and turns any
 * failure into an empty reconstruction with the reason, so that an audit loop never dies on one odd step.
 */
abstract class BaseAttack implements Attack {

    /** A raw guess, before the frame adds the attack's name and cost. */
    record Guess(List<int[]> tokens, double confidence, String detail) {
    }

    /** Whether {@link #guess} needs {@code gOut} and {@code hOut}. */
    abstract boolean needsGradient();

    abstract Guess guess(Observation observation, ThreatModel threatModel);

    @Override
    public boolean applicable(Observation observation) {
        return observation != null && observation.hIn() != null && (!needsGradient() || observation.hasGradient());
    }

    @Override
    public final Reconstruction attack(Observation observation, ThreatModel threatModel) {
        long started = System.nanoTime();
        if (!applicable(observation)) {
            String why = observation != null && observation.hIn() != null && needsGradient()
                    ? "nothing to attack: no gradient crossed the wire (forward-only step, e.g. Gradfree)"
                    : "nothing to attack: no activation in the observation";
            return Reconstruction.nothing(name(), why, elapsed(started));
        }
        String problem = threatModel.problemWith(observation, needsGradient());
        if (problem != null) {
            return Reconstruction.nothing(name(), problem, elapsed(started));
        }
        try {
            Guess g = guess(observation, threatModel);
            return new Reconstruction(name(), g.tokens(), g.confidence(), elapsed(started), g.detail());
        } catch (RuntimeException e) {
            return Reconstruction.nothing(name(), "attack failed: " + e, elapsed(started));
        }
    }

    private static long elapsed(long started) {
        return (System.nanoTime() - started) / 1_000_000;
    }

    /** Argmax over the last axis of [B, T, V] scores, cut to each sequence's length. */
    static List<int[]> argmaxTokens(NDArray scores, long[] lengths) {
        return DjlRuntime.withoutGradients(() -> {
            long[] ids = scores.argMax(-1).toLongArray();
            int t = (int) scores.getShape().get(1);
            List<int[]> out = new ArrayList<>();
            for (int b = 0; b < lengths.length; b++) {
                int[] seq = new int[(int) lengths[b]];
                for (int i = 0; i < seq.length; i++) {
                    seq[i] = (int) ids[b * t + i];
                }
                out.add(seq);
            }
            return out;
        });
    }

    /** Mean over non-pad positions of the largest softmax probability of [B, T, V] logits. */
    static double meanMaxProbability(NDArray logits, NDArray attentionMask) {
        return DjlRuntime.withoutGradients(() -> {
            NDArray top = logits.softmax(-1).max(new int[] {-1});
            return (double) top.mul(attentionMask).sum().getFloat() / attentionMask.sum().getFloat();
        });
    }

    /**
     * Flat indices of the real (non-pad) positions of rows with these lengths in a [B, T] batch, the first of them
     * being row {@code firstRow}.
     */
    static long[] realPositions(long[] lengths, long t, int firstRow) {
        long[] out = new long[(int) java.util.Arrays.stream(lengths).sum()];
        int n = 0;
        for (int b = 0; b < lengths.length; b++) {
            for (long i = 0; i < lengths[b]; i++) {
                out[n++] = (firstRow + b) * t + i;
            }
        }
        return out;
    }

    /**
     * The real positions of a [B, T, ...] array with these lengths, flattened in row order: [N, ...] in its manager.
     */
    static NDArray realRows(NDArray batched, long[] lengths) {
        ai.djl.ndarray.types.Shape shape = batched.getShape();
        NDArray at = batched.getManager().create(realPositions(lengths, shape.get(1), 0));
        return batched.reshape(new ai.djl.ndarray.types.Shape(-1).addAll(shape.slice(2))).get(at);
    }

    /** Flat ids, one per real position in row order, cut back into sequences of these lengths. */
    static List<int[]> cutIntoSequences(long[] ids, long[] lengths) {
        List<int[]> out = new ArrayList<>();
        int n = 0;
        for (long length : lengths) {
            int[] seq = new int[(int) length];
            for (int i = 0; i < seq.length; i++) {
                seq[i] = (int) ids[n++];
            }
            out.add(seq);
        }
        return out;
    }
}
