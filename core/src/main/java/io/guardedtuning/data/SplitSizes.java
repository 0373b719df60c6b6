package io.guardedtuning.data;

/** How many examples each split of a derived task gets. */
public record SplitSizes(int train, int validation, int test) {

    /** Small enough to fine-tune and evaluate on a CPU. */
    public static final SplitSizes DEFAULT = new SplitSizes(2000, 200, 500);

    public SplitSizes {
        if (train < 0 || validation < 0 || test < 0) {
            throw new IllegalArgumentException("split sizes must be >= 0, got " + train + "/" + validation + "/" + test);
        }
    }
}
