package io.guardedtuning.checkpoint;

import io.guardedtuning.model.OptConfig;
import io.guardedtuning.model.OptModel;
import io.guardedtuning.tensor.HostTensor;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Predicate;

/** Loads a model, or the part of it one party holds, from a Hugging Face directory. */
public final class ModelFiles {

    private ModelFiles() {
    }

    /** Loads the tensors {@code keep} selects (by canonical name), reading only those from disk. */
    public static OptModel load(Path directory, Predicate<String> keep) throws IOException {
        try (HfCheckpoint checkpoint = HfCheckpoint.open(directory)) {
            Map<String, HostTensor> tensors = new LinkedHashMap<>();
            for (String name : checkpoint.names()) {
                if (keep.test(name)) {
                    tensors.put(name, checkpoint.load(name));
                }
            }
            return OptModel.fromTensors(checkpoint.config(), tensors);
        }
    }

    public static OptModel load(Path directory) throws IOException {
        return load(directory, n -> true);
    }

    /** Saves a whole model with its tokenizer and any other small files, replacing the directory atomically. */
    public static void save(Path directory, OptModel model, Safetensors.Dtype dtype, Map<String, byte[]> extraFiles)
            throws IOException {
        OptConfig config = model.config();
        HfCheckpoint.write(directory, config, model.toTensors(n -> true), dtype, HfCheckpoint.UNSHARDED, extraFiles);
    }
}
