package io.guardedtuning.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.guardedtuning.checkpoint.Safetensors.Dtype;
import io.guardedtuning.model.OptConfig;
import io.guardedtuning.model.OptParameters;
import io.guardedtuning.tensor.HostTensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class HfCheckpointTest {

    /** Pre-LN with a final norm, like opt-125m. */
    static final OptConfig TINY = OptConfig.of(40, 8, 2, 16, 2, 12);
    /** Post-LN with projections and no final norm, like opt-350m. */
    static final OptConfig TINY_350M_STYLE = new OptConfig(40, 8, 2, 16, 2, 12, false, 4, true, true, false, "relu",
            1, 2, 2, "float16");

    @TempDir
    Path root;

    static LinkedHashMap<String, HostTensor> randomWeights(OptConfig config, long seed) {
        Random rng = new Random(seed);
        LinkedHashMap<String, HostTensor> weights = new LinkedHashMap<>();
        OptParameters.expectedShapes(config).forEach((name, shape) -> weights.put(name, SafetensorsTest.random(rng, shape)));
        return weights;
    }

    private static Set<String> listing(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return new TreeSet<>(files.map(p -> p.getFileName().toString()).toList());
        }
    }

    private static void assertMentions(String message, String... parts) {
        for (String part : parts) {
            assertTrue(message.contains(part), () -> "message should mention '" + part + "': " + message);
        }
    }

    private static String openError(Path dir) {
        return assertThrows(IOException.class, () -> HfCheckpoint.open(dir).close()).getMessage();
    }

    private static void writeConfig(Path dir, OptConfig config) throws IOException {
        Files.createDirectories(dir);
        Files.write(dir.resolve(HfCheckpoint.CONFIG_FILE), new ObjectMapper().writeValueAsBytes(config.toJson()));
    }

    @ParameterizedTest
    @EnumSource(value = Dtype.class, names = {"F32", "F16", "BF16"})
    void roundTripsInEachDtype(Dtype dtype) throws IOException {
        for (OptConfig config : List.of(TINY, TINY_350M_STYLE)) {
            Map<String, HostTensor> weights = randomWeights(config, 7);
            Path dir = root.resolve("ckpt-" + dtype + "-" + config.wordEmbedProjDim());
            HfCheckpoint.write(dir, config, weights, dtype);

            assertEquals(Set.of("config.json", "model.safetensors"), listing(dir));
            try (HfCheckpoint checkpoint = HfCheckpoint.open(dir)) {
                assertEquals(config.withTorchDtype(dtype.torchName()), checkpoint.config());
                assertEquals(List.copyOf(weights.keySet()), checkpoint.names(), "canonical names in HF order");
                assertEquals(dtype, checkpoint.dtype(OptParameters.EMBED_TOKENS));
                Map<String, HostTensor> loaded = checkpoint.loadAll();
                weights.forEach((name, t) -> SafetensorsTest.assertRoundTripped(t, loaded.get(name), dtype, name));
                if (dtype == Dtype.F32) {
                    assertEquals(weights, loaded, "fp32 is bit-exact");
                }
            }
            try (SafetensorsReader file = Safetensors.open(dir.resolve("model.safetensors"))) {
                List<String> stored = file.names();
                assertFalse(stored.contains(OptParameters.LM_HEAD), "lm_head is tied, not stored");
                assertTrue(stored.stream().allMatch(n -> n.startsWith("model.decoder.")), stored.toString());
            }
        }
    }

    @Test
    void shardsWithIndexWhenOverTheLimit() throws IOException {
        Map<String, HostTensor> weights = randomWeights(TINY, 8);
        long maxShardBytes = 1200;
        Path dir = root.resolve("sharded");
        HfCheckpoint.write(dir, TINY, weights, Dtype.F16, maxShardBytes, Map.of());

        JsonNode index = new ObjectMapper().readTree(dir.resolve(HfCheckpoint.INDEX_FILE).toFile());
        Set<String> shardFiles = new TreeSet<>();
        index.get("weight_map").fields().forEachRemaining(e -> shardFiles.add(e.getValue().asText()));
        int count = shardFiles.size();
        assertTrue(count >= 3, "expected at least 3 shards, got " + shardFiles);
        for (int i = 1; i <= count; i++) {
            assertTrue(shardFiles.contains(String.format("model-%05d-of-%05d.safetensors", i, count)), shardFiles.toString());
        }
        Set<String> expectedListing = new TreeSet<>(shardFiles);
        expectedListing.add(HfCheckpoint.CONFIG_FILE);
        expectedListing.add(HfCheckpoint.INDEX_FILE);
        assertEquals(expectedListing, listing(dir));

        List<String> indexed = new ArrayList<>();
        long totalSize = 0;
        for (Iterator<Map.Entry<String, JsonNode>> it = index.get("weight_map").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            indexed.add(e.getKey());
            try (SafetensorsReader shard = Safetensors.open(dir.resolve(e.getValue().asText()))) {
                assertTrue(shard.contains(e.getKey()), e.getKey() + " is in " + e.getValue());
            }
        }
        for (String file : shardFiles) {
            long shardBytes = 0;
            try (SafetensorsReader shard = Safetensors.open(dir.resolve(file))) {
                for (Safetensors.Entry entry : shard.entries()) {
                    shardBytes += entry.byteSize();
                }
                assertTrue(shardBytes <= maxShardBytes || shard.entries().size() == 1, file + ": " + shardBytes);
            }
            totalSize += shardBytes;
        }
        assertEquals(new TreeSet<>(weights.keySet()), new TreeSet<>(indexed));
        long expectedTotal = weights.values().stream().mapToLong(t -> t.numel() * 2).sum();
        assertEquals(expectedTotal, totalSize);
        assertEquals(expectedTotal, index.get("metadata").get("total_size").asLong());

        try (HfCheckpoint checkpoint = HfCheckpoint.open(dir)) {
            Map<String, HostTensor> loaded = checkpoint.loadAll();
            weights.forEach((name, t) -> SafetensorsTest.assertRoundTripped(t, loaded.get(name), Dtype.F16, name));
        }
    }

    @Test
    void streamsTensorsOneByOneInHfOrder() throws IOException {
        Map<String, HostTensor> weights = randomWeights(TINY, 9);
        Path dir = root.resolve("stream");
        HfCheckpoint.write(dir, TINY, weights, Dtype.F32, 1000, Map.of());
        List<String> seen = new ArrayList<>();
        try (HfCheckpoint checkpoint = HfCheckpoint.open(dir)) {
            checkpoint.forEachTensor((name, tensor) -> {
                seen.add(name);
                assertEquals(weights.get(name), tensor, name);
            });
            assertEquals(weights.get(OptParameters.EMBED_POSITIONS), checkpoint.load(OptParameters.EMBED_POSITIONS));
        }
        assertEquals(List.copyOf(weights.keySet()), seen);
    }

    /** The layout of the facebook/opt-* hub files: no {@code model.} prefix, a stray version, maybe an lm_head. */
    @Test
    void loadsHubStyleUnprefixedNames() throws IOException {
        Map<String, HostTensor> weights = randomWeights(TINY, 10);
        Map<String, HostTensor> hubStyle = new LinkedHashMap<>();
        weights.forEach((name, t) -> hubStyle.put(name.substring("model.".length()), t));
        hubStyle.put("decoder.version", new HostTensor(new long[] {1}, new float[] {1}));
        hubStyle.put(OptParameters.LM_HEAD, weights.get(OptParameters.EMBED_TOKENS));
        Path dir = root.resolve("hub");
        writeConfig(dir, TINY);
        Safetensors.write(dir.resolve("model.safetensors"), hubStyle, Dtype.F32);

        try (HfCheckpoint checkpoint = HfCheckpoint.open(dir)) {
            assertEquals(weights, checkpoint.loadAll());
        }
    }

    @Test
    void reportsEveryMismatchAtOnceNamingFileAndTensor() throws IOException {
        Map<String, HostTensor> weights = randomWeights(TINY, 11);
        String missing = OptParameters.layer(1) + "fc1.bias";
        String reshaped = OptParameters.layer(0) + "self_attn.q_proj.weight";
        weights.remove(missing);
        weights.put(reshaped, SafetensorsTest.random(new Random(1), 8, 7));
        weights.put("model.decoder.layers.5.fc1.weight", SafetensorsTest.random(new Random(2), 2));
        Path dir = root.resolve("broken");
        writeConfig(dir, TINY);
        Path file = dir.resolve("model.safetensors");
        Safetensors.write(file, weights, Dtype.F32);

        String message = openError(dir);
        assertMentions(message, "3 problems", file.toString(), "missing tensor '" + missing + "'",
                "'" + reshaped + "' has shape [8, 7], config.json implies [8, 8]",
                "unexpected tensor 'model.decoder.layers.5.fc1.weight'");
    }

    @Test
    void mismatchInAShardNamesThatShard() throws IOException {
        Map<String, HostTensor> weights = randomWeights(TINY, 12);
        Path dir = root.resolve("bad-shard");
        HfCheckpoint.write(dir, TINY, weights, Dtype.F32, 2000, Map.of());
        JsonNode weightMap = new ObjectMapper().readTree(dir.resolve(HfCheckpoint.INDEX_FILE).toFile()).get("weight_map");
        String name = OptParameters.layer(1) + "fc2.weight";
        String shardName = weightMap.get(name).asText();
        Path shard = dir.resolve(shardName);
        Map<String, HostTensor> content = Safetensors.readAll(shard);
        content.put(name, SafetensorsTest.random(new Random(3), 16, 8));
        Safetensors.write(shard, content, Dtype.F32);

        assertMentions(openError(dir), shard.toString(), "'" + name + "' has shape [16, 8]");

        Files.delete(shard);
        assertMentions(openError(dir), HfCheckpoint.INDEX_FILE, "'" + shardName + "' does not exist");
    }

    @Test
    void pickleOnlyCheckpointIsRefusedWithAHint() throws IOException {
        Path dir = root.resolve("pickle");
        writeConfig(dir, TINY);
        Files.write(dir.resolve("pytorch_model.bin"), new byte[] {1, 2, 3});
        assertMentions(openError(dir), dir.toString(), "pytorch_model.bin", "not supported", "safetensors");

        Path empty = root.resolve("no-weights");
        writeConfig(empty, TINY);
        assertMentions(openError(empty), "model.safetensors");
        assertMentions(openError(root.resolve("absent")), "absent");
    }

    @Test
    void corruptShardFileIsReportedByName() throws IOException {
        Path dir = root.resolve("corrupt");
        HfCheckpoint.write(dir, TINY, randomWeights(TINY, 13), Dtype.BF16);
        Path file = dir.resolve("model.safetensors");
        byte[] bytes = Files.readAllBytes(file);
        Files.write(file, Arrays.copyOf(bytes, bytes.length - 2));
        assertMentions(openError(dir), file.toString(), "truncated");
    }

    @Test
    void directoryWriteIsAtomicAndReplacesTheOldCheckpointWholly() throws IOException {
        Path dir = root.resolve("out");
        Map<String, HostTensor> first = randomWeights(TINY, 14);
        HfCheckpoint.write(dir, TINY, first, Dtype.F32, 1500, Map.of("stale.txt", new byte[] {1}));
        assertTrue(listing(dir).contains("stale.txt"));
        assertTrue(listing(dir).contains(HfCheckpoint.INDEX_FILE));

        Map<String, HostTensor> second = randomWeights(TINY, 15);
        byte[] tokenizer = "{\"model\":{}}".getBytes(StandardCharsets.UTF_8);
        byte[] provenance = "{\"run\":42}".getBytes(StandardCharsets.UTF_8);
        HfCheckpoint.write(dir, TINY, second, Dtype.F32, HfCheckpoint.UNSHARDED,
                Map.of("tokenizer.json", tokenizer, "provenance.json", provenance));

        assertEquals(Set.of("config.json", "model.safetensors", "tokenizer.json", "provenance.json"), listing(dir),
                "old shards, index and extra files are gone");
        assertArrayEquals(tokenizer, Files.readAllBytes(dir.resolve("tokenizer.json")));
        assertArrayEquals(provenance, Files.readAllBytes(dir.resolve("provenance.json")));
        assertEquals(Set.of("out"), listing(root), "no temporary or moved-aside directories remain");
        try (HfCheckpoint checkpoint = HfCheckpoint.open(dir)) {
            assertEquals(second, checkpoint.loadAll());
        }
    }

    @Test
    void invalidWritesChangeNothing() throws IOException {
        Path dir = root.resolve("keep");
        Map<String, HostTensor> weights = randomWeights(TINY, 16);
        HfCheckpoint.write(dir, TINY, weights, Dtype.F32);
        Set<String> before = listing(root);

        Map<String, HostTensor> incomplete = new LinkedHashMap<>(weights);
        incomplete.remove(OptParameters.EMBED_POSITIONS);
        incomplete.put(OptParameters.LM_HEAD, SafetensorsTest.random(new Random(4), 40, 8));
        String message = assertThrows(IllegalArgumentException.class,
                () -> HfCheckpoint.write(dir, TINY, incomplete, Dtype.F32)).getMessage();
        assertMentions(message, dir.toString(), "missing tensor '" + OptParameters.EMBED_POSITIONS + "'",
                "'lm_head.weight' differs");
        assertThrows(IllegalArgumentException.class, () -> HfCheckpoint.write(dir, TINY, weights, Dtype.F32,
                HfCheckpoint.UNSHARDED, Map.of("config.json", new byte[0])));
        assertThrows(IllegalArgumentException.class, () -> HfCheckpoint.write(dir, TINY, weights, Dtype.F32,
                HfCheckpoint.UNSHARDED, Map.of("../escape.txt", new byte[0])));

        assertEquals(before, listing(root));
        try (HfCheckpoint checkpoint = HfCheckpoint.open(dir)) {
            assertEquals(weights, checkpoint.loadAll());
        }
    }

    @Test
    void writerAcceptsUnprefixedNamesAndATiedLmHead() throws IOException {
        Map<String, HostTensor> weights = randomWeights(TINY, 17);
        Map<String, HostTensor> hubStyle = new LinkedHashMap<>();
        weights.forEach((name, t) -> hubStyle.put(name.substring("model.".length()), t));
        hubStyle.put(OptParameters.LM_HEAD, weights.get(OptParameters.EMBED_TOKENS));
        Path dir = root.resolve("from-hub-names");
        HfCheckpoint.write(dir, TINY, hubStyle, Dtype.F32);
        try (HfCheckpoint checkpoint = HfCheckpoint.open(dir)) {
            assertEquals(weights, checkpoint.loadAll());
        }
    }

    @Test
    void anUntiedHeadIsRefusedNamingTheFileAndTheField() throws IOException {
        Path dir = root.resolve("untied");
        HfCheckpoint.write(dir, TINY, randomWeights(TINY, 3), Dtype.F32);
        ObjectNode config = (ObjectNode) new ObjectMapper().readTree(dir.resolve(HfCheckpoint.CONFIG_FILE).toFile());
        config.put("tie_word_embeddings", false);
        Files.write(dir.resolve(HfCheckpoint.CONFIG_FILE), new ObjectMapper().writeValueAsBytes(config));
        String error = assertThrows(CheckpointFormatException.class, () -> HfCheckpoint.open(dir).close()).getMessage();
        assertMentions(error, dir.resolve(HfCheckpoint.CONFIG_FILE).toString(), "tie_word_embeddings", "untied");
        // Written checkpoints say what they are: tied.
        HfCheckpoint.write(dir, TINY, randomWeights(TINY, 3), Dtype.F32);
        assertTrue(new ObjectMapper().readTree(dir.resolve(HfCheckpoint.CONFIG_FILE).toFile())
                .path("tie_word_embeddings").asBoolean());
    }

    @Test
    void filesAreWrittenWithTheUmasksPermissions() throws IOException {
        assumeTrue(Files.getFileStore(root).supportsFileAttributeView(PosixFileAttributeView.class));
        // What this process's umask gives a plain new file and directory, to compare with.
        Set<PosixFilePermission> plainFile = Files.getPosixFilePermissions(Files.createFile(root.resolve("plain")));
        Set<PosixFilePermission> plainDir = Files.getPosixFilePermissions(Files.createDirectory(root.resolve("d")));
        Path dir = root.resolve("shared-model");
        HfCheckpoint.write(dir, TINY, randomWeights(TINY, 5), Dtype.F32);
        assertEquals(plainDir, Files.getPosixFilePermissions(dir));
        for (String file : listing(dir)) {
            assertEquals(plainFile, Files.getPosixFilePermissions(dir.resolve(file)), file);
        }
        // A secret stays the owner's only.
        Path secret = root.resolve("keys").resolve("private.key");
        io.guardedtuning.storage.AtomicFiles.writePrivate(secret, new byte[] {1});
        assertEquals(PosixFilePermissions.fromString("rw-------"), Files.getPosixFilePermissions(secret));
    }
}
