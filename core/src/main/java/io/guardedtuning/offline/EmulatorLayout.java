package io.guardedtuning.offline;

import io.guardedtuning.model.OptConfig;
import io.guardedtuning.model.OptParameters;
import io.guardedtuning.model.Split;
import io.guardedtuning.tensor.HostTensor;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Where each emulator layer comes from. The emulator is {@code [k bottom adapter layers][S kept middle layers]
 * [k top adapter layers]}, numbered 0..2k+S−1; the full model has {@code fullLayers} layers with the middle
 * {@code [k, fullLayers−k)}. Renaming tensors between the two numberings is what lets adapters tuned in the
 * emulator plug back into the full model.
 *
 * @param fullLayers  layers of the full model
 * @param k           adapter depth at each end (the split point)
 * @param keptMiddle  kept middle layers, relative to the first middle layer, strictly increasing
 */
public record EmulatorLayout(int fullLayers, int k, int[] keptMiddle) {

    private static final Pattern LAYER_NAME = Pattern.compile(Pattern.quote(OptParameters.PREFIX) + "layers\\.(\\d+)\\.(.*)");

    public EmulatorLayout {
        Split full = new Split(k, fullLayers);
        keptMiddle = keptMiddle.clone();
        if (keptMiddle.length == 0) {
            throw new IllegalArgumentException("an emulator keeps at least one middle layer");
        }
        for (int i = 0; i < keptMiddle.length; i++) {
            if (keptMiddle[i] < 0 || keptMiddle[i] >= full.trunkLayers() || (i > 0 && keptMiddle[i] <= keptMiddle[i - 1])) {
                throw new IllegalArgumentException("kept middle layers " + Arrays.toString(keptMiddle)
                        + " must be strictly increasing within 0.." + (full.trunkLayers() - 1));
            }
        }
    }

    /** Uniform layer-drop of the full model's middle to {@code kept} layers. */
    public static EmulatorLayout uniform(Split fullSplit, int kept) {
        return new EmulatorLayout(fullSplit.layers(), fullSplit.k(),
                LayerDrop.keptIndices(fullSplit.trunkLayers(), kept));
    }

    @Override
    public int[] keptMiddle() {
        return keptMiddle.clone();
    }

    public int emulatorLayers() {
        return 2 * k + keptMiddle.length;
    }

    public Split fullSplit() {
        return new Split(k, fullLayers);
    }

    public Split emulatorSplit() {
        return new Split(k, emulatorLayers());
    }

    public OptConfig emulatorConfig(OptConfig fullConfig) {
        if (fullConfig.numHiddenLayers() != fullLayers) {
            throw new IllegalArgumentException("layout is for " + fullLayers + " layers, config has "
                    + fullConfig.numHiddenLayers());
        }
        return fullConfig.withLayers(emulatorLayers());
    }

    /** Full-model index of emulator layer {@code i}. */
    public int fullLayerOf(int emulatorLayer) {
        if (emulatorLayer < 0 || emulatorLayer >= emulatorLayers()) {
            throw new IllegalArgumentException("emulator layer " + emulatorLayer + " outside 0.." + (emulatorLayers() - 1));
        }
        if (emulatorLayer < k) {
            return emulatorLayer;
        }
        if (emulatorLayer < k + keptMiddle.length) {
            return k + keptMiddle[emulatorLayer - k];
        }
        return fullLayers - emulatorLayers() + emulatorLayer;
    }

    /** Kept layers in full-model numbering, e.g. {2,5,7,10,13,16,18,21} for OPT-1.3B 2-8-2. */
    public int[] keptFullLayers() {
        int[] out = new int[keptMiddle.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = k + keptMiddle[i];
        }
        return out;
    }

    /** The emulator's middle layers (what distillation trains and the watermark marks). */
    public Predicate<String> emulatorMiddle() {
        return name -> {
            int layer = layerOf(name);
            return layer >= k && layer < k + keptMiddle.length;
        };
    }

    /** Renames an emulator tensor to its full-model name; non-layer tensors keep their name. */
    public String toFullName(String emulatorName) {
        return renumber(emulatorName, this::fullLayerOf);
    }

    /** Renames a full-model adapter tensor to its emulator name; fails for middle-layer tensors. */
    public String toEmulatorName(String fullName) {
        return renumber(fullName, full -> {
            if (full < k) {
                return full;
            }
            if (full >= fullLayers - k) {
                return full - fullLayers + emulatorLayers();
            }
            throw new IllegalArgumentException("'" + fullName + "' is a middle layer, not an adapter");
        });
    }

    /** Adapter tensors in emulator naming → the same tensors in full-model naming. */
    public Map<String, HostTensor> adaptersToFull(Map<String, HostTensor> emulatorAdapters) {
        Predicate<String> adapters = emulatorSplit().adapters();
        Map<String, HostTensor> out = new LinkedHashMap<>();
        emulatorAdapters.forEach((name, t) -> {
            if (!adapters.test(name)) {
                throw new IllegalArgumentException("'" + name + "' is not an adapter tensor of the emulator");
            }
            out.put(toFullName(name), t);
        });
        return out;
    }

    /** Adapter tensors in full-model naming → emulator naming. */
    public Map<String, HostTensor> adaptersToEmulator(Map<String, HostTensor> fullAdapters) {
        Map<String, HostTensor> out = new LinkedHashMap<>();
        fullAdapters.forEach((name, t) -> out.put(toEmulatorName(name), t));
        return out;
    }

    static int layerOf(String name) {
        Matcher m = LAYER_NAME.matcher(name);
        return m.matches() ? Integer.parseInt(m.group(1)) : -1;
    }

    private static String renumber(String name, java.util.function.IntUnaryOperator map) {
        Matcher m = LAYER_NAME.matcher(name);
        if (!m.matches()) {
            return name;
        }
        return OptParameters.layer(map.applyAsInt(Integer.parseInt(m.group(1)))) + m.group(2);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof EmulatorLayout l && fullLayers == l.fullLayers && k == l.k
                && Arrays.equals(keptMiddle, l.keptMiddle);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * fullLayers + k) + Arrays.hashCode(keptMiddle);
    }

    @Override
    public String toString() {
        return k + "-" + keptMiddle.length + "-" + k + " of " + fullLayers + " layers, kept " + Arrays.toString(keptFullLayers());
    }
}
