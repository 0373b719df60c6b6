package io.guardedtuning.offline;

/**
 * Offsite-Tuning's uniform layer-drop: which of the {@code M} middle layers an emulator of {@code S} layers keeps.
 * Relative index {@code i} maps to {@code round(i·(M−1)/(S−1))}, rounding half to even as the reference does, so the
 * first and last middle layers are always kept.
 */
public final class LayerDrop {

    private LayerDrop() {
    }

    /** Kept relative indices (0-based within the middle), strictly increasing. */
    public static int[] keptIndices(int middleLayers, int kept) {
        if (middleLayers < 1) {
            throw new IllegalArgumentException("the middle needs at least one layer, got " + middleLayers);
        }
        if (kept < 1 || kept > middleLayers) {
            throw new IllegalArgumentException("cannot keep " + kept + " of " + middleLayers
                    + " middle layers (need 1 <= kept <= middle layers)");
        }
        if (kept == 1) {
            return new int[] {0};
        }
        int[] out = new int[kept];
        for (int i = 0; i < kept; i++) {
            out[i] = (int) Math.rint((double) i * (middleLayers - 1) / (kept - 1));
        }
        return out;
    }
}
