package io.guardedtuning.session;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.guardedtuning.checkpoint.Safetensors;
import io.guardedtuning.storage.AtomicFiles;
import io.guardedtuning.tensor.HostTensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

/**
 * Everything a client needs to resume a session exactly: adapter weights, optimizer moments and step, and the
 * data cursor. Saved as one directory, replaced atomically, so a crash leaves the previous checkpoint whole.
 */
public record ClientCheckpoint(long step, int epoch, int position, Map<String, HostTensor> adapters,
                               Map<String, HostTensor> optimizer) {

    private static final String WEIGHTS = "adapters.safetensors";
    private static final String OPTIMIZER = "optimizer.safetensors";
    private static final String STATE = "state.json";

    public void save(Path directory, String sessionId) throws IOException {
        ObjectNode state = new ObjectMapper().createObjectNode();
        state.put("session", sessionId);
        state.put("step", step);
        state.put("epoch", epoch);
        state.put("position", position);
        AtomicFiles.replaceDirectory(directory, temp -> {
            Safetensors.write(temp.resolve(WEIGHTS), adapters, Safetensors.Dtype.F32);
            Safetensors.write(temp.resolve(OPTIMIZER), optimizer, Safetensors.Dtype.F32);
            AtomicFiles.write(temp.resolve(STATE), new ObjectMapper().writerWithDefaultPrettyPrinter()
                    .writeValueAsBytes(state));
        });
    }

    /** The checkpoint in {@code directory}, if one was completed there; it must belong to {@code sessionId}. */
    public static Optional<ClientCheckpoint> load(Path directory, String sessionId) throws IOException {
        Path state = directory.resolve(STATE);
        if (!Files.isRegularFile(state)) {
            return Optional.empty();
        }
        JsonNode n = new ObjectMapper().readTree(state.toFile());
        String owner = n.path("session").asText();
        if (!owner.equals(sessionId)) {
            throw new IOException(state + ": checkpoint belongs to session '" + owner + "', not '" + sessionId + "'");
        }
        return Optional.of(new ClientCheckpoint(n.path("step").asLong(), n.path("epoch").asInt(),
                n.path("position").asInt(), Safetensors.readAll(directory.resolve(WEIGHTS)),
                Safetensors.readAll(directory.resolve(OPTIMIZER))));
    }
}
