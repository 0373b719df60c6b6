package io.guardedtuning.attack;

import java.util.List;

/**
 * An attack's guess: token ids per sequence (non-pad positions only), the attacker's own confidence in [0, 1]
 * (what it can know without the ground truth, e.g. the mean max-probability), the wall-clock cost, and a detail
 * line (the run's settings and caps, or why nothing was reconstructed).
 */
public record Reconstruction(String attack, List<int[]> tokens, double confidence, long costMillis, String detail) {

    public Reconstruction {
        tokens = List.copyOf(tokens);
    }

    public static Reconstruction nothing(String attack, String reason, long costMillis) {
        return new Reconstruction(attack, List.of(), 0, costMillis, reason);
    }

    public boolean succeeded() {
        return !tokens.isEmpty();
    }
}
