package io.guardedtuning.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.guardedtuning.checkpoint.Safetensors.Dtype;
import io.guardedtuning.checkpoint.Safetensors.Entry;
import io.guardedtuning.tensor.FloatFormats;
import io.guardedtuning.tensor.HostTensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SafetensorsTest {

    @TempDir
    Path dir;

    static HostTensor random(Random rng, long... shape) {
        float[] data = new float[(int) HostTensor.numel(shape)];
        for (int i = 0; i < data.length; i++) {
            data[i] = (float) rng.nextGaussian() * 3;
        }
        return new HostTensor(shape, data);
    }

    /** What a value looks like after a trip through {@code dtype}, computed independently of the file code. */
    static float rounded(float value, Dtype dtype) {
        return switch (dtype) {
            case F16 -> FloatFormats.fromFloat16(FloatFormats.toFloat16(value));
            case BF16 -> FloatFormats.fromBfloat16(FloatFormats.toBfloat16(value));
            default -> value;
        };
    }

    static void assertRoundTripped(HostTensor original, HostTensor loaded, Dtype dtype, String name) {
        assertArrayEquals(original.shape(), loaded.shape(), name);
        for (int i = 0; i < original.data().length; i++) {
            int expected = Float.floatToRawIntBits(rounded(original.data()[i], dtype));
            int actual = Float.floatToRawIntBits(loaded.data()[i]);
            if (expected != actual) {
                throw new AssertionError(name + "[" + i + "]: expected " + Integer.toHexString(expected) + " got "
                        + Integer.toHexString(actual));
            }
        }
    }

    private static Path writeRaw(Path file, String header, byte[] data) throws IOException {
        byte[] headerBytes = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer buf = ByteBuffer.allocate(8 + headerBytes.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        buf.putLong(headerBytes.length).put(headerBytes).put(data);
        Files.write(file, buf.array());
        return file;
    }

    private static String message(Path file) {
        return assertThrows(IOException.class, () -> Safetensors.readAll(file)).getMessage();
    }

    private static void assertMentions(String message, String... parts) {
        for (String part : parts) {
            assertTrue(message.contains(part), () -> "message should mention '" + part + "': " + message);
        }
    }

    @ParameterizedTest
    @EnumSource(value = Dtype.class, names = {"F32", "F16", "BF16"})
    void roundTripMatchesTheFormatsRounding(Dtype dtype) throws IOException {
        Random rng = new Random(1);
        Map<String, HostTensor> tensors = new LinkedHashMap<>();
        tensors.put("w", random(rng, 7, 5));
        tensors.put("b", random(rng, 5));
        tensors.put("special", new HostTensor(new long[] {9}, new float[] {0f, -0f, Float.MIN_VALUE, 1e-6f,
                65504f, 70000f, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN}));
        Path file = dir.resolve("t.safetensors");
        Safetensors.write(file, tensors, dtype);

        Map<String, HostTensor> loaded = Safetensors.readAll(file);
        assertEquals(tensors.keySet(), loaded.keySet());
        tensors.forEach((name, t) -> assertRoundTripped(t, loaded.get(name), dtype, name));
        if (dtype == Dtype.F32) {
            tensors.forEach((name, t) -> assertEquals(t, loaded.get(name), "fp32 is bit-exact: " + name));
        }
    }

    @Test
    void writtenLayoutIsWhatTransformersExpects() throws IOException {
        Random rng = new Random(2);
        Map<String, HostTensor> tensors = Map.of("zeta", random(rng, 3), "alpha", random(rng, 2, 2),
                "empty", random(rng, 0, 4), "mid", random(rng, 1));
        Path file = dir.resolve("layout.safetensors");
        Safetensors.write(file, tensors, Dtype.F16);

        byte[] bytes = Files.readAllBytes(file);
        long headerLength = ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(0, (8 + headerLength) % 8, "data section is 8-byte aligned");
        String header = new String(bytes, 8, (int) headerLength, StandardCharsets.UTF_8);
        JsonNode root = new ObjectMapper().readTree(header);
        assertEquals("pt", root.get("__metadata__").get("format").asText());

        List<String> names = new ArrayList<>();
        long next = 0;
        for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
            String name = it.next();
            if (name.equals("__metadata__")) {
                continue;
            }
            names.add(name);
            JsonNode offsets = root.get(name).get("data_offsets");
            assertEquals("F16", root.get(name).get("dtype").asText());
            assertEquals(next, offsets.get(0).asLong(), "offsets tile without gaps: " + name);
            next = offsets.get(1).asLong();
        }
        assertEquals(List.of("alpha", "empty", "mid", "zeta"), names, "sorted by name");
        assertEquals(bytes.length, 8 + headerLength + next, "no trailing bytes");
        assertEquals((2 * 2 + 0 + 1 + 3) * 2, next);
    }

    @Test
    void handBuiltFileLoadsToKnownValues() throws IOException {
        String header = "{\"__metadata__\":{\"format\":\"pt\"},"
                + "\"f32\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"half\":{\"dtype\":\"F16\",\"shape\":[2,2],\"data_offsets\":[8,16]},"
                + "\"brain\":{\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[16,22]},"
                + "\"count\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[22,30]}}   ";
        ByteBuffer data = ByteBuffer.allocate(30).order(ByteOrder.LITTLE_ENDIAN);
        data.putFloat(1.5f).putFloat(-2.25f);
        data.putShort((short) 0x3C00).putShort((short) 0xC000).putShort((short) 0x3555).putShort((short) 0x7BFF);
        data.putShort((short) 0x3F80).putShort((short) 0xC040).putShort((short) 0x4049);
        data.putLong(7);
        Path file = writeRaw(dir.resolve("hand.safetensors"), header, data.array());

        try (SafetensorsReader reader = Safetensors.open(file)) {
            assertEquals(List.of("f32", "half", "brain", "count"), reader.names());
            assertEquals(Map.of("format", "pt"), reader.metadata());
            Entry half = reader.entry("half");
            assertEquals(Dtype.F16, half.dtype());
            assertArrayEquals(new long[] {2, 2}, half.shape());
            assertEquals(8, half.begin());

            assertArrayEquals(new float[] {1.0f, -2.0f, 0.333251953125f, 65504f}, reader.read("half").data());
            assertArrayEquals(new float[] {1.0f, -3.0f, 3.140625f}, reader.read("brain").data());
            assertArrayEquals(new float[] {1.5f, -2.25f}, reader.read("f32").data());
            HostTensor count = reader.read("count");
            assertArrayEquals(new long[0], count.shape());
            assertArrayEquals(new float[] {7f}, count.data());

            String unknown = assertThrows(IllegalArgumentException.class, () -> reader.read("nope")).getMessage();
            assertMentions(unknown, file.toString(), "nope");
        }
    }

    @Test
    void unknownDtypeNamesFileTensorAndDtype() throws IOException {
        Path file = writeRaw(dir.resolve("u8.safetensors"),
                "{\"mask\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]}}", new byte[4]);
        assertMentions(message(file), file.toString(), "'mask'", "'U8'", "unsupported dtype");
    }

    @Test
    void truncatedFileNamesFileAndTensor() throws IOException {
        Random rng = new Random(3);
        Path file = dir.resolve("trunc.safetensors");
        Safetensors.write(file, Map.of("a", random(rng, 4), "z_last", random(rng, 3, 3)), Dtype.F32);
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
            channel.truncate(channel.size() - 5);
        }
        assertMentions(message(file), file.toString(), "'z_last'", "truncated");

        Path headerCut = dir.resolve("header-cut.safetensors");
        Files.write(headerCut, Arrays.copyOf(Files.readAllBytes(file), 20));
        assertMentions(message(headerCut), headerCut.toString(), "truncated");
    }

    @Test
    void offsetsOutOfBoundsNameFileAndTensor() throws IOException {
        Path file = writeRaw(dir.resolve("oob.safetensors"),
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                        + "\"far\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[100,108]}}", new byte[16]);
        assertMentions(message(file), file.toString(), "'far'", "out of bounds");
    }

    @Test
    void malformedHeadersAreRejectedClearly() throws IOException {
        record Case(String header, int dataBytes, String... expected) {
        }
        List<Case> cases = List.of(
                new Case("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8,
                        "'a'", "needs 12 bytes", "span 8"),
                new Case("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}", 8, "not valid JSON"),
                new Case("[1,2]", 0, "not a JSON object"),
                new Case("{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8, "'a'", "shape"),
                new Case("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8, "'a'", "begin <= end"),
                new Case("{\"a\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "'a'", "dtype"),
                new Case("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                        + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "'b'", "overlap", "'a'"),
                new Case("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, "'a'", "gap of 4"),
                new Case("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 12, "4 trailing bytes"),
                new Case("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                        + "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "'a'"),
                new Case("{\"__metadata__\":{\"format\":1}}", 0, "__metadata__", "'format'"));
        for (int i = 0; i < cases.size(); i++) {
            Case c = cases.get(i);
            Path file = writeRaw(dir.resolve("bad" + i + ".safetensors"), c.header(), new byte[c.dataBytes()]);
            String message = message(file);
            assertMentions(message, file.toString());
            assertMentions(message, c.expected());
        }

        Path tiny = dir.resolve("tiny.safetensors");
        Files.write(tiny, new byte[3]);
        assertMentions(message(tiny), tiny.toString(), "too short");

        Path huge = dir.resolve("huge-header.safetensors");
        Files.write(huge, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(Long.MAX_VALUE).array());
        assertMentions(message(huge), huge.toString(), "implausible");
    }

    /** A sparse file with a tensor past 4 GiB: reading it needs long offsets, and the big tensor is never loaded. */
    @Test
    void readsTensorsBeyondFourGibLazily() throws IOException {
        long bigElements = 1L << 31; // one more than a Java array can hold
        long bigBytes = bigElements * 2;
        String header = "{\"__metadata__\":{\"format\":\"pt\"},"
                + "\"big\":{\"dtype\":\"F16\",\"shape\":[" + bigElements + "],\"data_offsets\":[0," + bigBytes + "]},"
                + "\"tail\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[" + bigBytes + "," + (bigBytes + 8)
                + "]}}";
        byte[] headerBytes = header.getBytes(StandardCharsets.UTF_8);
        Path file = dir.resolve("sparse.safetensors");
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                StandardOpenOption.SPARSE)) {
            channel.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(headerBytes.length).flip());
            channel.write(ByteBuffer.wrap(headerBytes));
            ByteBuffer tail = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putFloat(0.25f).putFloat(-8f);
            channel.write(tail.flip(), 8 + headerBytes.length + bigBytes);
        }
        try (SafetensorsReader reader = Safetensors.open(file)) {
            assertEquals(List.of("big", "tail"), reader.names());
            assertEquals(bigBytes, reader.entry("big").byteSize());
            assertArrayEquals(new float[] {0.25f, -8f}, reader.read("tail").data());
            String tooBig = assertThrows(IOException.class, () -> reader.read("big")).getMessage();
            assertMentions(tooBig, file.toString(), "'big'", "Java array");
        }
    }

    @Test
    void writeIsAtomicAndReplacesExistingFile() throws IOException {
        Random rng = new Random(4);
        Path file = dir.resolve("model.safetensors");
        Safetensors.write(file, Map.of("old", random(rng, 100)), Dtype.F32);
        Map<String, HostTensor> fresh = Map.of("new", random(rng, 3));
        Safetensors.write(file, fresh, Dtype.F32);
        assertEquals(fresh, Safetensors.readAll(file));
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(List.of(file), files.toList(), "no temporary files are left");
        }

        // A rename that cannot happen (the target is a non-empty directory) must leave no temporary file behind.
        Path blocked = dir.resolve("blocked");
        Files.createDirectories(blocked.resolve("child"));
        assertThrows(IOException.class, () -> Safetensors.write(blocked, fresh, Dtype.F32));
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(2, files.count(), "only model.safetensors and blocked/");
        }
    }

    @Test
    void writerRejectsWhatTransformersCannotLoad() {
        Map<String, HostTensor> one = Map.of("a", new HostTensor(new long[] {1}, new float[] {1}));
        Path file = dir.resolve("x.safetensors");
        assertThrows(IllegalArgumentException.class, () -> Safetensors.write(file, one, Dtype.I64));
        assertThrows(IllegalArgumentException.class, () -> Safetensors.write(file, one, Dtype.F32, Map.of()));
        assertThrows(IllegalArgumentException.class,
                () -> Safetensors.write(file, Map.of("__metadata__", one.get("a")), Dtype.F32));
    }

    @Test
    void randomShapesIncludingEmptyAndScalarRoundTrip() throws IOException {
        Random rng = new Random(5);
        Dtype[] dtypes = {Dtype.F32, Dtype.F16, Dtype.BF16};
        for (int trial = 0; trial < 40; trial++) {
            Map<String, HostTensor> tensors = new LinkedHashMap<>();
            int count = rng.nextInt(6);
            for (int t = 0; t < count; t++) {
                long[] shape = new long[rng.nextInt(5)];
                for (int d = 0; d < shape.length; d++) {
                    shape[d] = rng.nextInt(10) < 2 ? rng.nextInt(2) : 1 + rng.nextInt(6);
                }
                tensors.put("t" + t + "." + rng.nextInt(1000), random(rng, shape));
            }
            Dtype dtype = dtypes[rng.nextInt(dtypes.length)];
            Path file = dir.resolve("random" + trial + ".safetensors");
            Safetensors.write(file, tensors, dtype);
            try (SafetensorsReader reader = Safetensors.open(file)) {
                assertEquals(tensors.keySet(), Set.copyOf(reader.names()), "trial " + trial);
                for (Map.Entry<String, HostTensor> e : tensors.entrySet()) {
                    assertRoundTripped(e.getValue(), reader.read(e.getKey()), dtype, "trial " + trial + " " + e);
                }
            }
        }
    }
}
