package io.guardedtuning.offline;

import io.guardedtuning.checkpoint.Safetensors;
import io.guardedtuning.tensor.HostTensor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/** Safetensors (F32) as bytes, for packages and adapter events; goes through a temporary file, as the format's code does. */
public final class TensorBytes {

    private TensorBytes() {
    }

    public static byte[] encode(Map<String, HostTensor> tensors) {
        Path dir = null;
        try {
            dir = Files.createTempDirectory("gt-tensors");
            Path file = dir.resolve("t.safetensors");
            Safetensors.write(file, tensors, Safetensors.Dtype.F32);
            return Files.readAllBytes(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            deleteQuietly(dir);
        }
    }

    /** @throws IOException when the bytes are not a valid safetensors file */
    public static Map<String, HostTensor> decode(byte[] bytes) throws IOException {
        Path dir = Files.createTempDirectory("gt-tensors");
        try {
            Path file = dir.resolve("t.safetensors");
            Files.write(file, bytes);
            return Safetensors.readAll(file);
        } finally {
            deleteQuietly(dir);
        }
    }

    private static void deleteQuietly(Path dir) {
        if (dir == null) {
            return;
        }
        try {
            io.guardedtuning.storage.AtomicFiles.deleteRecursively(dir);
        } catch (IOException e) {
            // A leftover temp file is harmless; the caller's result is what matters.
        }
    }
}
