package io.guardedtuning.checkpoint;

import io.guardedtuning.storage.AtomicFiles;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.guardedtuning.checkpoint.Safetensors.Dtype;
import io.guardedtuning.model.OptConfig;
import io.guardedtuning.model.OptParameters;
import io.guardedtuning.tensor.HostTensor;

import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.BiConsumer;

/**
 * A Hugging Face OPT checkpoint directory: {@code config.json} plus either {@code model.safetensors} or shards listed
 * in {@code model.safetensors.index.json}. Opening reads and validates every header against
 * {@link OptParameters#expectedShapes}; tensor data is read only when asked for, one tensor at a time. Names are
 * canonical ({@code model.decoder.*}) whichever spelling the files use.
 */
public final class HfCheckpoint implements Closeable {

    public static final String CONFIG_FILE = "config.json";
    public static final String SINGLE_FILE = "model.safetensors";
    public static final String INDEX_FILE = "model.safetensors.index.json";
    public static final String PICKLE_FILE = "pytorch_model.bin";
    public static final String PICKLE_INDEX_FILE = "pytorch_model.bin.index.json";
    /** Max shard bytes meaning: everything in one {@code model.safetensors}. */
    public static final long UNSHARDED = Long.MAX_VALUE;

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private record Location(SafetensorsReader reader, String storedName) {
    }

    private final Path directory;
    private final OptConfig config;
    private final List<SafetensorsReader> readers;
    private final Map<String, Location> tensors;

    private HfCheckpoint(Path directory, OptConfig config, List<SafetensorsReader> readers,
            Map<String, Location> tensors) {
        this.directory = directory;
        this.config = config;
        this.readers = readers;
        this.tensors = tensors;
    }

    /** Reads config.json and every safetensors header, and checks names and shapes; loads no tensor data. */
    public static HfCheckpoint open(Path directory) throws IOException {
        if (!Files.isDirectory(directory)) {
            throw new CheckpointFormatException(directory + ": not a checkpoint directory (does not exist or is a file)");
        }
        OptConfig config = readConfig(directory);
        List<Path> shardFiles = new ArrayList<>();
        Map<String, String> indexMap = weightFiles(directory, shardFiles);
        List<SafetensorsReader> readers = new ArrayList<>();
        try {
            for (Path shard : shardFiles) {
                readers.add(SafetensorsReader.open(shard));
            }
            Map<String, Location> tensors = locate(directory, config, readers, indexMap);
            return new HfCheckpoint(directory, config, List.copyOf(readers), tensors);
        } catch (IOException | RuntimeException e) {
            for (SafetensorsReader reader : readers) {
                try {
                    reader.close();
                } catch (IOException closing) {
                    e.addSuppressed(closing);
                }
            }
            throw e;
        }
    }

    public static OptConfig readConfig(Path directory) throws IOException {
        Path file = directory.resolve(CONFIG_FILE);
        if (!Files.isRegularFile(file)) {
            throw new CheckpointFormatException(directory + ": no " + CONFIG_FILE + " (not a Hugging Face checkpoint)");
        }
        try {
            return OptConfig.read(file);
        } catch (IllegalArgumentException e) {
            throw new CheckpointFormatException(e.getMessage(), e);
        }
    }

    public Path directory() {
        return directory;
    }

    public OptConfig config() {
        return config;
    }

    /** Canonical tensor names in Hugging Face's order (embeddings, layers, final norm). */
    public List<String> names() {
        return List.copyOf(tensors.keySet());
    }

    /** The on-disk type of a tensor (checkpoints usually store one type throughout). */
    public Dtype dtype(String canonicalName) {
        Location at = location(canonicalName);
        return at.reader().entry(at.storedName()).dtype();
    }

    public HostTensor load(String canonicalName) throws IOException {
        Location at = location(canonicalName);
        return at.reader().read(at.storedName());
    }

    /**
     * Hands each tensor to {@code consumer} in {@link #names()} order, loading the next only after the consumer
     * returns, so peak heap is about one tensor when the consumer copies it elsewhere and lets it go.
     */
    public void forEachTensor(BiConsumer<String, HostTensor> consumer) throws IOException {
        for (String name : tensors.keySet()) {
            consumer.accept(name, load(name));
        }
    }

    /** A whole checkpoint in memory: its config and every tensor. */
    public record Loaded(OptConfig config, LinkedHashMap<String, HostTensor> tensors) {
    }

    /** Opens the checkpoint, loads every tensor and closes it; for models that comfortably fit in the heap. */
    public static Loaded loadWhole(Path directory) throws IOException {
        try (HfCheckpoint checkpoint = open(directory)) {
            return new Loaded(checkpoint.config(), checkpoint.loadAll());
        }
    }

    /** Every tensor in memory at once; for models that comfortably fit in the heap. */
    public LinkedHashMap<String, HostTensor> loadAll() throws IOException {
        LinkedHashMap<String, HostTensor> all = new LinkedHashMap<>();
        forEachTensor(all::put);
        return all;
    }

    @Override
    public void close() throws IOException {
        IOException failure = null;
        for (SafetensorsReader reader : readers) {
            try {
                reader.close();
            } catch (IOException e) {
                if (failure == null) {
                    failure = e;
                } else {
                    failure.addSuppressed(e);
                }
            }
        }
        if (failure != null) {
            throw failure;
        }
    }

    private Location location(String canonicalName) {
        Location at = tensors.get(canonicalName);
        if (at == null) {
            throw new IllegalArgumentException(directory + ": no tensor '" + canonicalName + "' (names are canonical, "
                    + "e.g. " + OptParameters.EMBED_TOKENS + ")");
        }
        return at;
    }

    /**
     * Finds the safetensors files to read, in {@code shardFiles}; returns the index's weight map (stored name to shard
     * file name), or null for a single-file checkpoint. Like transformers, a single file wins over an index.
     */
    private static Map<String, String> weightFiles(Path directory, List<Path> shardFiles) throws IOException {
        Path single = directory.resolve(SINGLE_FILE);
        Path index = directory.resolve(INDEX_FILE);
        if (Files.isRegularFile(single)) {
            shardFiles.add(single);
            return null;
        }
        if (Files.isRegularFile(index)) {
            Map<String, String> weightMap = readIndex(index);
            Set<String> shards = new LinkedHashSet<>(weightMap.values());
            for (String shard : shards) {
                Path file = directory.resolve(shard);
                if (!Files.isRegularFile(file)) {
                    throw new CheckpointFormatException(index + ": shard '" + shard + "' does not exist (it should hold '"
                            + firstTensorIn(weightMap, shard) + "')");
                }
                shardFiles.add(file);
            }
            return weightMap;
        }
        if (Files.exists(directory.resolve(PICKLE_FILE)) || Files.exists(directory.resolve(PICKLE_INDEX_FILE))) {
            throw new CheckpointFormatException(directory + ": only " + PICKLE_FILE + " weights found; the .bin "
                    + "(PyTorch pickle) format is not supported. Convert the checkpoint to safetensors, e.g. in Python: "
                    + "AutoModelForCausalLM.from_pretrained(dir).save_pretrained(out, safe_serialization=True)");
        }
        throw new CheckpointFormatException(directory + ": no " + SINGLE_FILE + " or " + INDEX_FILE + " found");
    }

    private static Map<String, String> readIndex(Path index) throws IOException {
        JsonNode root = JSON.readTree(index.toFile());
        JsonNode weightMap = root == null ? null : root.get("weight_map");
        if (weightMap == null || !weightMap.isObject() || weightMap.isEmpty()) {
            throw new CheckpointFormatException(index + ": missing or empty 'weight_map' object");
        }
        Map<String, String> map = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = weightMap.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String shard = e.getValue().asText("");
            if (!e.getValue().isTextual() || !isPlainFileName(shard)) {
                throw new CheckpointFormatException(index + ": tensor '" + e.getKey()
                        + "' maps to an invalid shard file name " + e.getValue());
            }
            map.put(e.getKey(), shard);
        }
        return map;
    }

    private static String firstTensorIn(Map<String, String> weightMap, String shard) {
        return weightMap.entrySet().stream().filter(e -> e.getValue().equals(shard)).findFirst().orElseThrow().getKey();
    }

    /** Maps canonical names to where they are stored, reporting every mismatch with the config at once. */
    private static Map<String, Location> locate(Path directory, OptConfig config, List<SafetensorsReader> readers,
            Map<String, String> indexMap) throws CheckpointFormatException {
        List<String> problems = new ArrayList<>();
        Map<String, Location> found = new LinkedHashMap<>();
        Map<String, SafetensorsReader> byFileName = new LinkedHashMap<>();
        for (SafetensorsReader reader : readers) {
            byFileName.put(reader.file().getFileName().toString(), reader);
        }
        if (indexMap != null) {
            indexMap.forEach((name, shard) -> {
                if (!byFileName.get(shard).contains(name)) {
                    problems.add(directory.resolve(INDEX_FILE) + " maps tensor '" + name + "' to " + shard
                            + ", which has no such tensor");
                }
            });
        }
        Map<String, long[]> expected = OptParameters.expectedShapes(config);
        for (SafetensorsReader reader : readers) {
            for (Safetensors.Entry entry : reader.entries()) {
                String canonical = OptParameters.canonical(entry.name());
                if (canonical == null) {
                    continue;
                }
                Location earlier = found.putIfAbsent(canonical, new Location(reader, entry.name()));
                long[] shape = expected.get(canonical);
                if (earlier != null) {
                    problems.add(reader.file() + ": tensor '" + entry.name() + "' duplicates '" + earlier.storedName()
                            + "' in " + earlier.reader().file());
                } else if (shape == null) {
                    problems.add(reader.file() + ": unexpected tensor '" + entry.name() + "' " + entry.dtype()
                            + Arrays.toString(entry.shape()) + " (not part of OPT with this config.json)");
                } else if (!Arrays.equals(shape, entry.shape())) {
                    problems.add(reader.file() + ": tensor '" + entry.name() + "' has shape "
                            + Arrays.toString(entry.shape()) + ", config.json implies " + Arrays.toString(shape));
                }
            }
        }
        String searched = indexMap == null ? readers.get(0).file().toString()
                : directory.resolve(INDEX_FILE) + " and its " + readers.size() + " shards";
        for (String name : expected.keySet()) {
            if (!found.containsKey(name)) {
                problems.add("missing tensor '" + name + "' (looked in " + searched + ")");
            }
        }
        if (!problems.isEmpty()) {
            throw new CheckpointFormatException(directory + ": checkpoint does not match its " + CONFIG_FILE + " ("
                    + problems.size() + " problems):\n  - " + String.join("\n  - ", problems));
        }
        Map<String, Location> ordered = new LinkedHashMap<>();
        expected.keySet().forEach(name -> ordered.put(name, found.get(name)));
        return ordered;
    }

    public static void write(Path directory, OptConfig config, Map<String, HostTensor> tensors, Dtype dtype)
            throws IOException {
        write(directory, config, tensors, dtype, UNSHARDED, Map.of());
    }

    /**
     * Writes a checkpoint that transformers' {@code from_pretrained} loads: config.json with {@code torch_dtype}
     * set, canonical {@code model.decoder.*} names, no {@code lm_head.weight} (tied to the embedding). Tensors are
     * split into {@code model-0000k-of-0000N.safetensors} shards of at most {@code maxShardBytes} (a larger single
     * tensor gets a shard of its own) with an index, or one {@code model.safetensors} when they fit. {@code extraFiles}
     * (plain file name to content, e.g. tokenizer.json) go into the same directory. The directory is replaced as a
     * whole: built in a temporary sibling and renamed into place.
     */
    public static void write(Path directory, OptConfig config, Map<String, HostTensor> tensors, Dtype dtype,
            long maxShardBytes, Map<String, byte[]> extraFiles) throws IOException {
        if (!dtype.writable()) {
            throw new IllegalArgumentException(directory + ": cannot write dtype " + dtype + " (only F32, F16, BF16)");
        }
        if (maxShardBytes <= 0) {
            throw new IllegalArgumentException(directory + ": max shard bytes must be > 0, got " + maxShardBytes);
        }
        checkExtraFileNames(directory, extraFiles.keySet());
        LinkedHashMap<String, HostTensor> ordered = canonicalForWrite(directory, config, tensors);
        List<Map<String, HostTensor>> shards = planShards(ordered, dtype, maxShardBytes);
        byte[] configJson = JSON.writeValueAsBytes(config.withTorchDtype(dtype.torchName()).toJson());
        AtomicFiles.replaceDirectory(directory, temp -> {
            AtomicFiles.write(temp.resolve(CONFIG_FILE), configJson);
            if (shards.size() == 1) {
                Safetensors.write(temp.resolve(SINGLE_FILE), shards.get(0), dtype);
            } else {
                writeShards(temp, shards, dtype);
            }
            for (Map.Entry<String, byte[]> extra : extraFiles.entrySet()) {
                AtomicFiles.write(temp.resolve(extra.getKey()), extra.getValue());
            }
        });
    }

    /** Hugging Face's shard file name, 1-based. */
    public static String shardFileName(int index, int count) {
        return String.format("model-%05d-of-%05d.safetensors", index, count);
    }

    private static void writeShards(Path directory, List<Map<String, HostTensor>> shards, Dtype dtype)
            throws IOException {
        Map<String, String> weightMap = new TreeMap<>();
        long totalSize = 0;
        for (int i = 0; i < shards.size(); i++) {
            String file = shardFileName(i + 1, shards.size());
            Safetensors.write(directory.resolve(file), shards.get(i), dtype);
            for (Map.Entry<String, HostTensor> e : shards.get(i).entrySet()) {
                weightMap.put(e.getKey(), file);
                totalSize += Safetensors.dataBytes(e.getValue(), dtype);
            }
        }
        ObjectNode index = JSON.createObjectNode();
        index.putObject("metadata").put("total_size", totalSize);
        ObjectNode map = index.putObject("weight_map");
        weightMap.forEach(map::put);
        AtomicFiles.write(directory.resolve(INDEX_FILE), JSON.writeValueAsBytes(index));
    }

    /** Greedy, in order, like transformers: start a new shard when the next tensor would overflow this one. */
    private static List<Map<String, HostTensor>> planShards(Map<String, HostTensor> tensors, Dtype dtype,
            long maxShardBytes) {
        List<Map<String, HostTensor>> shards = new ArrayList<>();
        Map<String, HostTensor> current = new LinkedHashMap<>();
        long currentBytes = 0;
        for (Map.Entry<String, HostTensor> e : tensors.entrySet()) {
            long bytes = Safetensors.dataBytes(e.getValue(), dtype);
            if (!current.isEmpty() && bytes > maxShardBytes - currentBytes) {
                shards.add(current);
                current = new LinkedHashMap<>();
                currentBytes = 0;
            }
            current.put(e.getKey(), e.getValue());
            currentBytes += bytes;
        }
        shards.add(current);
        return shards;
    }

    /**
     * Canonicalises names and checks them against the config, reporting every problem at once. A supplied
     * {@code lm_head.weight} is dropped, but only if it equals the embedding it is tied to, so nothing is lost.
     */
    private static LinkedHashMap<String, HostTensor> canonicalForWrite(Path directory, OptConfig config,
            Map<String, HostTensor> tensors) {
        Map<String, long[]> expected = OptParameters.expectedShapes(config);
        Map<String, HostTensor> byCanonical = new LinkedHashMap<>();
        List<String> problems = new ArrayList<>();
        for (Map.Entry<String, HostTensor> e : tensors.entrySet()) {
            String canonical = OptParameters.canonical(e.getKey());
            if (canonical == null) {
                continue;
            }
            long[] shape = expected.get(canonical);
            if (byCanonical.putIfAbsent(canonical, e.getValue()) != null) {
                problems.add("tensor '" + e.getKey() + "' is given twice (as '" + canonical + "' too)");
            } else if (shape == null) {
                problems.add("unexpected tensor '" + e.getKey() + "'" + Arrays.toString(e.getValue().shape()));
            } else if (!Arrays.equals(shape, e.getValue().shape())) {
                problems.add("tensor '" + e.getKey() + "' has shape " + Arrays.toString(e.getValue().shape())
                        + ", config implies " + Arrays.toString(shape));
            }
        }
        for (String name : expected.keySet()) {
            if (!byCanonical.containsKey(name)) {
                problems.add("missing tensor '" + name + "'");
            }
        }
        HostTensor lmHead = tensors.get(OptParameters.LM_HEAD);
        HostTensor embedding = byCanonical.get(OptParameters.EMBED_TOKENS);
        if (lmHead != null && embedding != null && !lmHead.equals(embedding)) {
            problems.add("'" + OptParameters.LM_HEAD + "' differs from '" + OptParameters.EMBED_TOKENS
                    + "', but OPT ties them and the checkpoint stores only the embedding");
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException(directory + ": tensors do not match the config (" + problems.size()
                    + " problems):\n  - " + String.join("\n  - ", problems));
        }
        LinkedHashMap<String, HostTensor> ordered = new LinkedHashMap<>();
        expected.keySet().forEach(name -> ordered.put(name, byCanonical.get(name)));
        return ordered;
    }

    private static void checkExtraFileNames(Path directory, Set<String> names) {
        for (String name : names) {
            boolean reserved = name.equals(CONFIG_FILE) || name.equals(INDEX_FILE)
                    || (name.startsWith("model") && name.endsWith(".safetensors"));
            if (!isPlainFileName(name) || reserved) {
                throw new IllegalArgumentException(directory + ": extra file name '" + name
                        + "' must be a plain file name that is not config.json or a model file");
            }
        }
    }

    private static boolean isPlainFileName(String name) {
        return !name.isEmpty() && !name.equals(".") && !name.equals("..") && name.indexOf('/') < 0
                && name.indexOf('\\') < 0 && name.indexOf('\0') < 0;
    }
}
