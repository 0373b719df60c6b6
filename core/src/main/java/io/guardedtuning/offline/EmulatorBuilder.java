package io.guardedtuning.offline;

import io.guardedtuning.model.OptConfig;
import io.guardedtuning.model.OptModel;
import io.guardedtuning.tensor.HostTensor;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Builds an emulator from a full model: embeddings, final norm and both adapters are copied as they are, the middle
 * is reduced to the layout's kept layers, renumbered consecutively. The result is an ordinary OPT checkpoint with
 * {@code 2k + S} layers, so every model, training and evaluation class works on it unchanged.
 */
public final class EmulatorBuilder {

    /** An emulator's tensors (emulator naming) and where its layers came from. */
    public record Emulator(OptConfig config, EmulatorLayout layout, Map<String, HostTensor> tensors) {

        public OptModel toModel() {
            return OptModel.fromTensors(config, tensors);
        }
    }

    private EmulatorBuilder() {
    }

    public static Emulator build(OptConfig fullConfig, Map<String, HostTensor> fullTensors, EmulatorLayout layout) {
        OptConfig config = layout.emulatorConfig(fullConfig);
        Map<String, HostTensor> out = new LinkedHashMap<>();
        // Walk the emulator's expected names so the result is complete and in checkpoint order.
        for (String name : io.guardedtuning.model.OptParameters.expectedShapes(config).keySet()) {
            String source = layout.toFullName(name);
            HostTensor t = fullTensors.get(source);
            if (t == null) {
                throw new IllegalArgumentException("the full model lacks '" + source + "' (needed for '" + name + "')");
            }
            out.put(name, t);
        }
        return new Emulator(config, layout, out);
    }

    public static Emulator build(OptModel full, EmulatorLayout layout) {
        return build(full.config(), full.toTensors(n -> true), layout);
    }
}
