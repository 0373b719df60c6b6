package io.guardedtuning.checkpoint;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.guardedtuning.checkpoint.Safetensors.Dtype;
import io.guardedtuning.checkpoint.Safetensors.Entry;
import io.guardedtuning.tensor.FloatFormats;
import io.guardedtuning.tensor.HostTensor;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An open safetensors file whose header has been read and validated; tensors are loaded one at a time with
 * positioned reads, so files far larger than the heap (and than 2 GiB) can be read tensor by tensor.
 */
public final class SafetensorsReader implements Closeable {

    /** The reference implementation's cap; a larger value means a corrupt or foreign file. */
    static final long MAX_HEADER_BYTES = 100L << 20;

    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    private final Path file;
    private final FileChannel channel;
    private final long dataStart;
    private final Map<String, Entry> entries;
    private final Map<String, String> metadata;

    private SafetensorsReader(Path file, FileChannel channel) throws IOException {
        this.file = file;
        this.channel = channel;
        long size = channel.size();
        if (size < 8) {
            throw error("file is " + size + " bytes, too short for a safetensors header length (8 bytes)");
        }
        ByteBuffer prefix = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        readFully(prefix, 0, "the header length");
        long headerLength = prefix.flip().getLong();
        if (headerLength < 2 || headerLength > MAX_HEADER_BYTES) {
            throw error("header length " + headerLength + " is implausible (not a safetensors file, or corrupt)");
        }
        if (headerLength > size - 8) {
            throw error("file is truncated: the header needs " + headerLength + " bytes but only " + (size - 8)
                    + " follow the length field");
        }
        ByteBuffer header = ByteBuffer.allocate((int) headerLength);
        readFully(header, 8, "the header");
        this.dataStart = 8 + headerLength;
        JsonNode root;
        try {
            root = JSON.readTree(header.array());
        } catch (JsonProcessingException e) {
            throw new CheckpointFormatException(file + ": header is not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw error("header is not a JSON object");
        }
        Map<String, String> meta = new LinkedHashMap<>();
        List<Entry> parsed = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> field = it.next();
            if (field.getKey().equals(Safetensors.METADATA_KEY)) {
                parseMetadata(field.getValue(), meta);
            } else {
                parsed.add(parseEntry(field.getKey(), field.getValue()));
            }
        }
        parsed.sort(Comparator.comparingLong(Entry::begin).thenComparingLong(Entry::end));
        checkLayout(parsed, size - dataStart);
        Map<String, Entry> byName = new LinkedHashMap<>();
        parsed.forEach(e -> byName.put(e.name(), e));
        this.entries = Collections.unmodifiableMap(byName);
        this.metadata = Collections.unmodifiableMap(meta);
    }

    public static SafetensorsReader open(Path file) throws IOException {
        FileChannel channel = FileChannel.open(file, StandardOpenOption.READ);
        try {
            return new SafetensorsReader(file, channel);
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    public Path file() {
        return file;
    }

    /** Header entries in the order of their data. */
    public List<Entry> entries() {
        return List.copyOf(entries.values());
    }

    public List<String> names() {
        return List.copyOf(entries.keySet());
    }

    public boolean contains(String name) {
        return entries.containsKey(name);
    }

    public Entry entry(String name) {
        Entry e = entries.get(name);
        if (e == null) {
            throw new IllegalArgumentException(file + ": no tensor '" + name + "' (the file has " + entries.size()
                    + " tensors)");
        }
        return e;
    }

    /** The {@code __metadata__} map; empty when the file has none. */
    public Map<String, String> metadata() {
        return metadata;
    }

    /** Loads one tensor, converted to fp32. */
    public HostTensor read(String name) throws IOException {
        Entry e = entry(name);
        long numel = e.numel();
        if (numel > Integer.MAX_VALUE) {
            throw error("tensor '" + name + "' has " + numel + " elements, more than one Java array can hold");
        }
        float[] out = new float[(int) numel];
        int elementBytes = e.dtype().bytes();
        ByteBuffer buffer = ByteBuffer.allocate((int) Math.min(Safetensors.IO_CHUNK_BYTES, e.byteSize()))
                .order(ByteOrder.LITTLE_ENDIAN);
        long position = dataStart + e.begin();
        int index = 0;
        while (index < out.length) {
            int count = (int) Math.min(buffer.capacity() / elementBytes, out.length - (long) index);
            buffer.clear().limit(count * elementBytes);
            readFully(buffer, position, "tensor '" + name + "'");
            position += buffer.limit();
            buffer.flip();
            decode(buffer, e.dtype(), out, index, count);
            index += count;
        }
        return new HostTensor(e.shape().clone(), out);
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }

    private static void decode(ByteBuffer in, Dtype dtype, float[] out, int from, int count) {
        int to = from + count;
        switch (dtype) {
            case F32 -> in.asFloatBuffer().get(out, from, count);
            case F16 -> {
                for (int i = from; i < to; i++) {
                    out[i] = FloatFormats.fromFloat16(in.getShort());
                }
            }
            case BF16 -> {
                for (int i = from; i < to; i++) {
                    out[i] = FloatFormats.fromBfloat16(in.getShort());
                }
            }
            case F64 -> {
                for (int i = from; i < to; i++) {
                    out[i] = (float) in.getDouble();
                }
            }
            case I64 -> {
                for (int i = from; i < to; i++) {
                    out[i] = in.getLong();
                }
            }
            case I32 -> {
                for (int i = from; i < to; i++) {
                    out[i] = in.getInt();
                }
            }
        }
    }

    private void parseMetadata(JsonNode node, Map<String, String> into) throws CheckpointFormatException {
        if (!node.isObject()) {
            throw error("__metadata__ must be a JSON object of strings, got " + node);
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> field = it.next();
            if (!field.getValue().isTextual()) {
                throw error("__metadata__ value for '" + field.getKey() + "' must be a string, got " + field.getValue());
            }
            into.put(field.getKey(), field.getValue().asText());
        }
    }

    private Entry parseEntry(String name, JsonNode node) throws CheckpointFormatException {
        String where = "tensor '" + name + "': ";
        if (!node.isObject()) {
            throw error(where + "header entry must be a JSON object, got " + node);
        }
        JsonNode dtypeNode = node.get("dtype");
        if (dtypeNode == null || !dtypeNode.isTextual()) {
            throw error(where + "missing or non-string 'dtype'");
        }
        Dtype dtype = Dtype.parse(dtypeNode.asText());
        if (dtype == null) {
            throw error(where + "unsupported dtype '" + dtypeNode.asText() + "' (supported: "
                    + Arrays.toString(Dtype.values()) + ")");
        }
        long[] shape = nonNegativeLongs(node.get("shape"), "shape", where);
        long[] offsets = nonNegativeLongs(node.get("data_offsets"), "data_offsets", where);
        if (offsets.length != 2 || offsets[0] > offsets[1]) {
            throw error(where + "data_offsets must be [begin, end] with begin <= end, got "
                    + Arrays.toString(offsets));
        }
        long expectedBytes;
        try {
            expectedBytes = Math.multiplyExact(HostTensor.numel(shape), dtype.bytes());
        } catch (ArithmeticException e) {
            throw error(where + "shape " + Arrays.toString(shape) + " is too large");
        }
        if (offsets[1] - offsets[0] != expectedBytes) {
            throw error(where + dtype + Arrays.toString(shape) + " needs " + expectedBytes
                    + " bytes but data_offsets " + Arrays.toString(offsets) + " span " + (offsets[1] - offsets[0]));
        }
        return new Entry(name, dtype, shape, offsets[0], offsets[1]);
    }

    private long[] nonNegativeLongs(JsonNode node, String field, String where) throws CheckpointFormatException {
        if (node == null || !node.isArray()) {
            throw error(where + "missing or non-array '" + field + "'");
        }
        long[] values = new long[node.size()];
        for (int i = 0; i < values.length; i++) {
            JsonNode v = node.get(i);
            if (!v.isIntegralNumber() || !v.canConvertToLong() || v.asLong() < 0) {
                throw error(where + "'" + field + "' must hold non-negative integers, got " + node);
            }
            values[i] = v.asLong();
        }
        return values;
    }

    /** The offsets must tile the data section exactly: from 0, no gaps, no overlaps, no trailing bytes. */
    private void checkLayout(List<Entry> sorted, long dataBytes) throws CheckpointFormatException {
        long next = 0;
        Entry previous = null;
        for (Entry e : sorted) {
            if (e.end() > dataBytes) {
                throw error("tensor '" + e.name() + "': data_offsets [" + e.begin() + ", " + e.end()
                        + "] reach past the end of the data section (" + dataBytes
                        + " bytes): the file is truncated or the offsets are out of bounds");
            }
            if (e.begin() < next) {
                throw error("tensor '" + e.name() + "': data_offsets [" + e.begin() + ", " + e.end()
                        + "] overlap tensor '" + previous.name() + "' [" + previous.begin() + ", " + previous.end()
                        + "]");
            }
            if (e.begin() > next) {
                throw error("tensor '" + e.name() + "': gap of " + (e.begin() - next) + " bytes before its data at "
                        + e.begin() + " (offsets must tile the data section)");
            }
            next = e.end();
            previous = e;
        }
        if (next != dataBytes) {
            throw error((dataBytes - next) + " trailing bytes after the last tensor's data (data section is "
                    + dataBytes + " bytes, tensors cover " + next + ")");
        }
    }

    private void readFully(ByteBuffer buffer, long position, String what) throws IOException {
        long at = position;
        while (buffer.hasRemaining()) {
            int n = channel.read(buffer, at);
            if (n < 0) {
                throw error("unexpected end of file at byte " + at + " while reading " + what);
            }
            at += n;
        }
    }

    private CheckpointFormatException error(String message) {
        return new CheckpointFormatException(file + ": " + message);
    }
}
