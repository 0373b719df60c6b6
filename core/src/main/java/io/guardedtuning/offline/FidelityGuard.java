package io.guardedtuning.offline;

import io.guardedtuning.eval.Perplexity;
import io.guardedtuning.model.OptModel;

import java.util.List;

/**
 * Refuses to release an emulator that is too close to the full model on its own: the emulator is handed to the
 * client in the clear, so its standalone quality is the model IP the provider gives away. The ceiling is a ratio of
 * held-out perplexities ({@code emulator ≥ minPerplexityRatio × full}) and, optionally, of task accuracies
 * ({@code emulator ≤ maxAccuracyRatio × full}).
 */
public final class FidelityGuard {

    /** What was measured and whether the emulator may be released; {@code reason} says why not. */
    public record Assessment(double emulatorPerplexity, double fullPerplexity, double perplexityRatio,
                             boolean releasable, String reason) {
    }

    private final double minPerplexityRatio;
    private final double maxAccuracyRatio;

    /**
     * @param minPerplexityRatio e.g. 1.2: the emulator's perplexity must be at least 1.2× the full model's
     * @param maxAccuracyRatio   e.g. 0.95: emulator-alone task accuracy at most 95% of the full model's; ≤ 0 or
     *                           NaN disables the accuracy check
     */
    public FidelityGuard(double minPerplexityRatio, double maxAccuracyRatio) {
        if (!(minPerplexityRatio > 0)) {
            throw new IllegalArgumentException("perplexity ratio must be > 0, got " + minPerplexityRatio);
        }
        this.minPerplexityRatio = minPerplexityRatio;
        this.maxAccuracyRatio = maxAccuracyRatio;
    }

    public double minPerplexityRatio() {
        return minPerplexityRatio;
    }

    /** Measures both models' held-out perplexity and applies the perplexity ceiling. */
    public Assessment assess(OptModel full, OptModel emulator, List<int[]> heldOut, int batchSize) {
        double fullPpl = Perplexity.evaluate(full, heldOut, batchSize).perplexity();
        double emulatorPpl = Perplexity.evaluate(emulator, heldOut, batchSize).perplexity();
        return assess(emulatorPpl, fullPpl);
    }

    public Assessment assess(double emulatorPerplexity, double fullPerplexity) {
        double ratio = emulatorPerplexity / fullPerplexity;
        boolean ok = ratio >= minPerplexityRatio;
        String reason = ok ? "" : String.format(
                "emulator perplexity %.3f is only %.3fx the full model's %.3f; the ceiling requires >= %.3fx",
                emulatorPerplexity, ratio, fullPerplexity, minPerplexityRatio);
        return new Assessment(emulatorPerplexity, fullPerplexity, ratio, ok, reason);
    }

    /** The accuracy ceiling; always passes when disabled. Returns an empty string when allowed, else the reason. */
    public String accuracyRefusal(double emulatorAccuracy, double fullAccuracy) {
        if (!(maxAccuracyRatio > 0) || emulatorAccuracy <= maxAccuracyRatio * fullAccuracy) {
            return "";
        }
        return String.format("emulator-alone accuracy %.3f exceeds %.2f x the full model's %.3f",
                emulatorAccuracy, maxAccuracyRatio, fullAccuracy);
    }

    /** Throws {@link EmulatorRefusedException} unless the assessment allows release. */
    public static void requireReleasable(Assessment a) {
        if (!a.releasable()) {
            throw new EmulatorRefusedException(a.reason());
        }
    }
}
