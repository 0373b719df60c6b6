package io.guardedtuning.offline;

import io.guardedtuning.model.OptModel;
import io.guardedtuning.model.Split;
import io.guardedtuning.offline.PackageRejectedException.Reason;
import io.guardedtuning.tensor.HostTensor;

import java.util.Arrays;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Provider side of the Offline design: installs the adapters a client tuned on its emulator around the real middle.
 * Only adapter tensors are accepted, all of them and with the model's shapes and finite values, so a returned
 * "adapter" can never overwrite the backbone or the embeddings.
 */
public final class PlugIn {

    private PlugIn() {
    }

    /** Checks {@code adapters} (full-model naming) against the model and the split without changing anything. */
    public static void check(OptModel full, Split split, Map<String, HostTensor> adapters)
            throws PackageRejectedException {
        Set<String> expected = new TreeSet<>(Split.select(full.parameters().keySet(), split.adapters()));
        Set<String> given = new TreeSet<>(adapters.keySet());
        if (!expected.equals(given)) {
            Set<String> extra = new TreeSet<>(given);
            extra.removeAll(expected);
            Set<String> missing = new TreeSet<>(expected);
            missing.removeAll(given);
            throw new PackageRejectedException(Reason.NOT_AN_ADAPTER, "returned tensors are not exactly the adapters"
                    + (extra.isEmpty() ? "" : "; not adapters: " + extra)
                    + (missing.isEmpty() ? "" : "; missing: " + missing));
        }
        for (Map.Entry<String, HostTensor> e : adapters.entrySet()) {
            long[] shape = full.parameter(e.getKey()).getShape().getShape();
            if (!Arrays.equals(shape, e.getValue().shape())) {
                throw new PackageRejectedException(Reason.NOT_AN_ADAPTER, "'" + e.getKey() + "' has shape "
                        + Arrays.toString(e.getValue().shape()) + ", the model's is " + Arrays.toString(shape));
            }
            for (float v : e.getValue().data()) {
                if (!Float.isFinite(v)) {
                    throw new PackageRejectedException(Reason.NOT_AN_ADAPTER, "'" + e.getKey() + "' holds " + v);
                }
            }
        }
    }

    /** Checks, then overwrites the full model's adapters in place. */
    public static void install(OptModel full, Split split, Map<String, HostTensor> adapters)
            throws PackageRejectedException {
        check(full, split, adapters);
        full.load(adapters);
    }
}
