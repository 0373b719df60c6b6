package io.guardedtuning.checkpoint;

import io.guardedtuning.storage.AtomicFiles;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.guardedtuning.tensor.FloatFormats;
import io.guardedtuning.tensor.HostTensor;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * The safetensors file format: an 8-byte little-endian header length, a JSON header mapping each tensor name to
 * {@code {dtype, shape, data_offsets}}, then the raw little-endian C-order data. Tensors are exchanged as fp32
 * {@link HostTensor}s; 16-bit floats are converted in Java through {@link FloatFormats}.
 */
public final class Safetensors {

    /** The format key that transformers' {@code from_pretrained} insists on. */
    public static final Map<String, String> PT_METADATA = Map.of("format", "pt");

    static final String METADATA_KEY = "__metadata__";
    static final int HEADER_ALIGNMENT = 8;

    /** Converting through a bounded buffer keeps memory flat when a tensor's bytes exceed what one array holds. */
    static final int IO_CHUNK_BYTES = 1 << 22;

    private Safetensors() {
    }

    /** On-disk element types; only the float types can be written. */
    public enum Dtype {
        F32(4, "float32"),
        F16(2, "float16"),
        BF16(2, "bfloat16"),
        F64(8, "float64"),
        I64(8, "int64"),
        I32(4, "int32");

        private final int bytes;
        private final String torchName;

        Dtype(int bytes, String torchName) {
            this.bytes = bytes;
            this.torchName = torchName;
        }

        public int bytes() {
            return bytes;
        }

        /** The {@code torch_dtype} spelling used in Hugging Face's config.json. */
        public String torchName() {
            return torchName;
        }

        public boolean writable() {
            return this == F32 || this == F16 || this == BF16;
        }

        /** Parses a torch dtype name such as {@code float16}; only writable types are accepted. */
        public static Dtype ofTorchName(String name) {
            for (Dtype d : values()) {
                if (d.writable() && d.torchName.equals(name)) {
                    return d;
                }
            }
            throw new IllegalArgumentException(
                    "unsupported checkpoint dtype '" + name + "' (supported: float32, float16, bfloat16)");
        }

        static Dtype parse(String name) {
            for (Dtype d : values()) {
                if (d.name().equals(name)) {
                    return d;
                }
            }
            return null;
        }
    }

    /** One header entry; offsets are relative to the start of the data section, as in the file. */
    public record Entry(String name, Dtype dtype, long[] shape, long begin, long end) {

        public long numel() {
            return HostTensor.numel(shape);
        }

        public long byteSize() {
            return end - begin;
        }

        @Override
        public String toString() {
            return name + " " + dtype + Arrays.toString(shape) + " @[" + begin + ", " + end + ")";
        }
    }

    public static SafetensorsReader open(Path file) throws IOException {
        return SafetensorsReader.open(file);
    }

    /** Reads every tensor of a file, in data order. Only for files that fit in the heap. */
    public static LinkedHashMap<String, HostTensor> readAll(Path file) throws IOException {
        try (SafetensorsReader reader = open(file)) {
            LinkedHashMap<String, HostTensor> out = new LinkedHashMap<>();
            for (Entry e : reader.entries()) {
                out.put(e.name(), reader.read(e.name()));
            }
            return out;
        }
    }

    /** Bytes the tensor data of {@code tensor} takes on disk in {@code dtype}. */
    public static long dataBytes(HostTensor tensor, Dtype dtype) {
        return tensor.numel() * dtype.bytes();
    }

    public static void write(Path file, Map<String, HostTensor> tensors, Dtype dtype) throws IOException {
        write(file, tensors, dtype, PT_METADATA);
    }

    /**
     * Writes tensors sorted by name, their offsets tiling the data section from 0 without gaps, atomically: the data
     * goes to a temporary file in the same directory, is fsynced, then renamed over {@code file}. {@code metadata}
     * is stored under {@code __metadata__} and must contain {@code format: pt}.
     */
    public static void write(Path file, Map<String, HostTensor> tensors, Dtype dtype, Map<String, String> metadata)
            throws IOException {
        if (!dtype.writable()) {
            throw new IllegalArgumentException(file + ": cannot write dtype " + dtype + " (only F32, F16, BF16)");
        }
        if (!"pt".equals(metadata.get("format"))) {
            throw new IllegalArgumentException(
                    file + ": __metadata__ must contain format=pt for transformers to load it, got " + metadata);
        }
        TreeMap<String, HostTensor> sorted = new TreeMap<>(tensors);
        if (sorted.containsKey(METADATA_KEY)) {
            throw new IllegalArgumentException(file + ": '" + METADATA_KEY + "' is reserved and cannot name a tensor");
        }
        byte[] header = header(sorted, dtype, metadata);
        AtomicFiles.write(file, channel -> {
            ByteBuffer prefix = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length).flip();
            writeFully(channel, prefix);
            writeFully(channel, ByteBuffer.wrap(header));
            ByteBuffer buffer = ByteBuffer.allocate(IO_CHUNK_BYTES).order(ByteOrder.LITTLE_ENDIAN);
            for (HostTensor t : sorted.values()) {
                writeData(channel, t.data(), dtype, buffer);
            }
        });
    }

    private static byte[] header(TreeMap<String, HostTensor> sorted, Dtype dtype, Map<String, String> metadata)
            throws IOException {
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = json.createObjectNode();
        ObjectNode meta = root.putObject(METADATA_KEY);
        new TreeMap<>(metadata).forEach(meta::put);
        long offset = 0;
        for (Map.Entry<String, HostTensor> e : sorted.entrySet()) {
            long end = offset + dataBytes(e.getValue(), dtype);
            ObjectNode info = root.putObject(e.getKey());
            info.put("dtype", dtype.name());
            ArrayNode shape = info.putArray("shape");
            for (long d : e.getValue().shape()) {
                shape.add(d);
            }
            info.putArray("data_offsets").add(offset).add(end);
            offset = end;
        }
        byte[] text = json.writeValueAsBytes(root);
        // Pad with spaces so the data section starts 8-byte aligned, as the reference implementation does.
        int padded = (text.length + HEADER_ALIGNMENT - 1) / HEADER_ALIGNMENT * HEADER_ALIGNMENT;
        byte[] header = Arrays.copyOf(text, padded);
        Arrays.fill(header, text.length, padded, (byte) ' ');
        return header;
    }

    private static void writeData(FileChannel channel, float[] data, Dtype dtype, ByteBuffer buffer)
            throws IOException {
        int perChunk = buffer.capacity() / dtype.bytes();
        for (int from = 0; from < data.length; from += perChunk) {
            int to = Math.min(data.length, from + perChunk);
            buffer.clear();
            for (int i = from; i < to; i++) {
                switch (dtype) {
                    case F32 -> buffer.putFloat(data[i]);
                    case F16 -> buffer.putShort(FloatFormats.toFloat16(data[i]));
                    case BF16 -> buffer.putShort(FloatFormats.toBfloat16(data[i]));
                    default -> throw new IllegalStateException("not writable: " + dtype);
                }
            }
            writeFully(channel, buffer.flip());
        }
    }

    private static void writeFully(FileChannel channel, ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            channel.write(buffer);
        }
    }
}
