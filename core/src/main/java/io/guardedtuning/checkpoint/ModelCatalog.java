package io.guardedtuning.checkpoint;

import io.guardedtuning.storage.AtomicFiles;
import io.guardedtuning.data.PackageCache;
import io.guardedtuning.model.OptConfig;
import io.guardedtuning.model.TinyOpt;
import io.guardedtuning.tensor.HostTensor;
import io.guardedtuning.tokenizer.BpeTokenizer;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Resolves a model argument to a Hugging Face directory: a path the user gives (e.g. a downloaded
 * {@code facebook/opt-1.3b}), or the name of the model bundled in this library, unpacked once into the cache.
 */
public final class ModelCatalog {

    /** Where the bundled model is unpacked when the package cache is read-only (the images set /tmp/...). */
    public static final String UNPACK_DIR_ENV = "GT_MODEL_CACHE_DIR";
    private static final String BUNDLE = "/models/" + TinyOpt.NAME + "/";
    private static final List<String> BUNDLE_FILES = List.of(HfCheckpoint.CONFIG_FILE, HfCheckpoint.SINGLE_FILE,
            "tokenizer.json", "training.json");

    private ModelCatalog() {
    }

    /** A model directory loaded whole, with its tokenizer: what a tool needs to run the model on text. */
    public record Model(Path directory, OptConfig config, Map<String, HostTensor> tensors, BpeTokenizer tokenizer) {

        public static Model load(Path directory) throws IOException {
            HfCheckpoint.Loaded checkpoint = HfCheckpoint.loadWhole(directory);
            return new Model(directory, checkpoint.config(), checkpoint.tensors(),
                    BpeTokenizer.fromDirectory(directory));
        }
    }

    /** {@link #resolve} then {@link Model#load}: a user's directory or the bundled model, with its tokenizer. */
    public static Model load(String model) throws IOException {
        return Model.load(resolve(model));
    }

    public static Path resolve(String model) throws IOException {
        if (TinyOpt.NAME.equals(model)) {
            return bundled();
        }
        Path p = Path.of(model);
        if (Files.isDirectory(p)) {
            return p;
        }
        throw new IOException("model '" + model + "' is neither a directory nor a bundled model (bundled: "
                + TinyOpt.NAME + ")");
    }

    public static boolean hasBundled() {
        return ModelCatalog.class.getResource(BUNDLE + HfCheckpoint.SINGLE_FILE) != null;
    }

    /** The bundled tiny model, unpacked into the cache on first use (atomically, keyed by its content). */
    public static Path bundled() throws IOException {
        if (!hasBundled()) {
            throw new IOException("the bundled model " + TinyOpt.NAME + " is missing from the classpath; build it with"
                    + " `gt pretrain --bundle`");
        }
        byte[] weights = read(HfCheckpoint.SINGLE_FILE);
        String digest = Integer.toHexString(java.util.Arrays.hashCode(weights));
        Path target = unpackDir().resolve(TinyOpt.NAME + "-" + digest);
        if (Files.isDirectory(target)) {
            return target;
        }
        Files.createDirectories(target.getParent());
        AtomicFiles.replaceDirectory(target, temp -> {
            for (String f : BUNDLE_FILES) {
                AtomicFiles.write(temp.resolve(f), read(f));
            }
        });
        return target;
    }

    /** Env {@value #UNPACK_DIR_ENV}, else {@code models/} in the package cache. */
    static Path unpackDir() {
        String fromEnv = System.getenv(UNPACK_DIR_ENV);
        return fromEnv != null && !fromEnv.isBlank() ? Path.of(fromEnv)
                : PackageCache.defaultCacheDir().resolve("models");
    }

    private static byte[] read(String file) throws IOException {
        try (InputStream in = ModelCatalog.class.getResourceAsStream(BUNDLE + file)) {
            if (in == null) {
                throw new IOException("bundled model file missing from the classpath: " + BUNDLE + file);
            }
            return in.readAllBytes();
        }
    }
}
