package io.guardedtuning.offline;

import io.guardedtuning.model.OptParameters;
import io.guardedtuning.model.Split;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class LayerDropTest {

    @Test
    void keptIndicesMatchTheOffsiteTuningRecipe() {
        assertArrayEquals(new int[] {0, 3, 5, 8, 11, 14, 16, 19}, LayerDrop.keptIndices(20, 8));
        assertArrayEquals(new int[] {0, 2, 3, 5, 6, 8, 10, 11, 13, 14, 16, 17, 19, 21, 22, 24, 25, 27},
                LayerDrop.keptIndices(28, 18));
        assertArrayEquals(new int[] {0, 3}, LayerDrop.keptIndices(4, 2));
        assertArrayEquals(new int[] {0}, LayerDrop.keptIndices(5, 1));
        assertArrayEquals(new int[] {0, 1, 2, 3}, LayerDrop.keptIndices(4, 4));
        // 1.5 rounds half to even: 2.
        assertArrayEquals(new int[] {0, 2, 3}, LayerDrop.keptIndices(4, 3));
    }

    @Test
    void impossibleRequestsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> LayerDrop.keptIndices(0, 1));
        assertThrows(IllegalArgumentException.class, () -> LayerDrop.keptIndices(4, 0));
        assertThrows(IllegalArgumentException.class, () -> LayerDrop.keptIndices(4, 5));
        assertThrows(IllegalArgumentException.class, () -> new EmulatorLayout(8, 2, new int[] {0, 0}));
        assertThrows(IllegalArgumentException.class, () -> new EmulatorLayout(8, 2, new int[] {4}));
    }

    @Test
    void layoutMapsEmulatorLayersAndAdapterNamesToTheFullModel() {
        EmulatorLayout opt13b = EmulatorLayout.uniform(new Split(2, 24), 8);
        assertArrayEquals(new int[] {2, 5, 7, 10, 13, 16, 18, 21}, opt13b.keptFullLayers());
        assertEquals(12, opt13b.emulatorLayers());
        assertEquals(1, opt13b.fullLayerOf(1));
        assertEquals(5, opt13b.fullLayerOf(3));
        assertEquals(22, opt13b.fullLayerOf(10));
        assertEquals(23, opt13b.fullLayerOf(11));
        String top = OptParameters.layer(11) + "fc1.weight";
        assertEquals(OptParameters.layer(23) + "fc1.weight", opt13b.toFullName(top));
        assertEquals(top, opt13b.toEmulatorName(OptParameters.layer(23) + "fc1.weight"));
        assertEquals(OptParameters.FINAL_NORM + "weight", opt13b.toFullName(OptParameters.FINAL_NORM + "weight"));
        assertThrows(IllegalArgumentException.class, () -> opt13b.toEmulatorName(OptParameters.layer(5) + "fc1.weight"));
    }
}
