package io.guardedtuning.wire;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.function.IntConsumer;
import java.util.stream.IntStream;
import com.github.luben.zstd.Zstd;
import net.jpountz.lz4.LZ4Compressor;
import net.jpountz.lz4.LZ4Exception;
import net.jpountz.lz4.LZ4Factory;
import net.jpountz.xxhash.XXHashFactory;

/**
 * Lossless compression of a codec payload with the zstd-jni and lz4-java that kafka-clients already depends on.
 * Compressed layout: u32 little-endian uncompressed length, then the stream. The length comes first so a receiver
 * can refuse a decompression bomb before inflating it.
 * <ul>
 * <li>zstd: one standard frame per {@link #ZSTD_FRAME_BYTES} of payload, compressed in parallel and concatenated
 * (a zstd decoder reads concatenated frames as one stream, so Kafka's stream and one libzstd call both read it).</li>
 * <li>lz4: byte for byte the LZ4 frame kafka-clients' stream writes at its default level (independent 64 KiB
 * blocks, LZ4's fast compressor, a block that does not shrink stored as is, no checksums), but written directly,
 * 16 blocks to a parallel task, instead of through the stream's buffers, and read the same way.</li>
 * </ul>
 */
public enum PayloadCompression {
    NONE,
    ZSTD,
    LZ4;

    /**
     * zstd's fast end: quantised activation codes are close to random bytes (level 3 saved 2.4 % on an int8 OPT-1.3B
     * activation, level 1 the same within 0.001 %), so a slower level buys nothing.
     */
    static final int ZSTD_LEVEL = 1;

    /**
     * Payload bytes per zstd frame: frames are compressed in parallel, and at level 1 (a 512 KiB window) a frame of
     * 1 MiB loses almost nothing to starting afresh. Fixed, so the bytes do not depend on the number of threads.
     */
    static final int ZSTD_FRAME_BYTES = 1 << 20;

    /** The LZ4 frame as Kafka writes it: magic, FLG (version 1, independent blocks), BD (64 KiB blocks). */
    private static final int LZ4_MAGIC = 0x184D2204;
    private static final byte LZ4_FLG = 0x60;
    private static final byte LZ4_BD = 0x40;
    /** The header checksum of FLG and BD: the second byte of their xxHash32, the same for every frame. */
    private static final byte LZ4_HEADER_CHECKSUM = (byte) (XXHashFactory.fastestInstance().hash32()
            .hash(new byte[] {LZ4_FLG, LZ4_BD}, 0, 2, 0) >> 8);
    static final int LZ4_BLOCK_BYTES = 64 << 10;
    /** Blocks compressed by one task: tasks run in parallel, and the frame is the same whatever their number. */
    private static final int LZ4_BLOCKS_PER_TASK = 16;
    /** Set in a block's size word when the block is stored as is (it did not compress). */
    private static final int LZ4_STORED = 0x80000000;

    public byte[] compress(byte[] raw) {
        return switch (this) {
            case NONE -> raw;
            case ZSTD -> zstdFrames(raw);
            case LZ4 -> lz4Frame(raw);
        };
    }

    private static byte[] zstdFrames(byte[] raw) {
        int frames = Math.max(1, (raw.length + ZSTD_FRAME_BYTES - 1) / ZSTD_FRAME_BYTES);
        byte[][] compressed = new byte[frames][];
        forEach(frames, frames > 1, f -> {
            int from = f * ZSTD_FRAME_BYTES;
            int length = Math.min(ZSTD_FRAME_BYTES, raw.length - from);
            byte[] out = new byte[Math.toIntExact(Zstd.compressBound(length))];
            long written = Zstd.compressByteArray(out, 0, out.length, raw, from, length, ZSTD_LEVEL);
            if (Zstd.isError(written)) {
                throw new IllegalStateException("zstd failed: " + Zstd.getErrorName(written));
            }
            compressed[f] = Arrays.copyOf(out, (int) written);
        });
        ByteBuffer out = withLength(raw.length, Arrays.stream(compressed).mapToInt(c -> c.length).sum());
        for (byte[] c : compressed) {
            out.put(c);
        }
        return out.array();
    }

    private static byte[] lz4Frame(byte[] raw) {
        int blocks = (raw.length + LZ4_BLOCK_BYTES - 1) / LZ4_BLOCK_BYTES;
        int groups = (blocks + LZ4_BLOCKS_PER_TASK - 1) / LZ4_BLOCKS_PER_TASK;
        byte[][] written = new byte[groups][];
        forEach(groups, groups > 1, g -> written[g] = lz4Blocks(raw,
                g * LZ4_BLOCKS_PER_TASK, Math.min(blocks, (g + 1) * LZ4_BLOCKS_PER_TASK)));
        ByteBuffer out = withLength(raw.length, 7 + 4 + Arrays.stream(written).mapToLong(w -> w.length).sum());
        out.putInt(LZ4_MAGIC).put(LZ4_FLG).put(LZ4_BD).put(LZ4_HEADER_CHECKSUM);
        for (byte[] w : written) {
            out.put(w);
        }
        return out.putInt(0).array();
    }

    /** Blocks [from, to) of {@code raw}, each a size word and its bytes; a block that does not shrink is stored. */
    private static byte[] lz4Blocks(byte[] raw, int from, int to) {
        LZ4Compressor compressor = LZ4Factory.fastestInstance().fastCompressor();
        int start = from * LZ4_BLOCK_BYTES;
        int end = Math.min(raw.length, to * LZ4_BLOCK_BYTES);
        // A size word per block; a block never takes more than its raw bytes.
        ByteBuffer out = ByteBuffer.allocate(4 * (to - from) + end - start).order(ByteOrder.LITTLE_ENDIAN);
        byte[] block = new byte[compressor.maxCompressedLength(LZ4_BLOCK_BYTES)];
        for (int at = start; at < end; at += LZ4_BLOCK_BYTES) {
            int length = Math.min(LZ4_BLOCK_BYTES, end - at);
            int size = compressor.compress(raw, at, length, block, 0, block.length);
            if (size < length) {
                out.putInt(size).put(block, 0, size);
            } else {
                out.putInt(length | LZ4_STORED).put(raw, at, length);
            }
        }
        return Arrays.copyOf(out.array(), out.position());
    }

    /**
     * Reads the frame {@link #lz4Frame} (and Kafka's stream) writes, checking every field before it is used: the
     * magic, FLG, BD and header checksum, each block's size (at most 64 KiB, every block but the last exactly 64 KiB
     * of content, none past the payload or the declared length), the end mark and nothing after it. The block
     * headers are walked first; the blocks then decompress in parallel, each into its own place.
     */
    private static byte[] lz4Read(byte[] payload, int declared) {
        ByteBuffer in = ByteBuffer.wrap(payload).order(ByteOrder.LITTLE_ENDIAN);
        in.position(4);
        if (in.remaining() < 7 || in.getInt() != LZ4_MAGIC || in.get() != LZ4_FLG || in.get() != LZ4_BD
                || in.get() != LZ4_HEADER_CHECKSUM) {
            throw corruptLz4("not the LZ4 frame header of the wire format (magic, FLG 0x60, BD 0x40, checksum)");
        }
        int blocks = (declared + LZ4_BLOCK_BYTES - 1) / LZ4_BLOCK_BYTES;
        int[] at = new int[blocks];
        int[] size = new int[blocks];
        for (int b = 0; b < blocks; b++) {
            if (in.remaining() < 4) {
                throw corruptLz4("truncated before block " + b + " of " + blocks);
            }
            int word = in.getInt();
            size[b] = word & ~LZ4_STORED;
            int content = Math.min(LZ4_BLOCK_BYTES, declared - b * LZ4_BLOCK_BYTES);
            boolean stored = (word & LZ4_STORED) != 0;
            if (size[b] < 1 || size[b] > LZ4_BLOCK_BYTES || size[b] > in.remaining() || stored && size[b] != content) {
                throw corruptLz4("block " + b + " has size word " + Integer.toUnsignedString(word) + " for "
                        + content + " bytes of content, " + in.remaining() + " bytes left");
            }
            at[b] = stored ? -1 - in.position() : in.position();
            in.position(in.position() + size[b]);
        }
        if (in.remaining() != 4 || in.getInt() != 0) {
            throw corruptLz4("no end mark right after the " + blocks + " blocks the declared length needs");
        }
        byte[] raw = new byte[declared];
        forEach(blocks, blocks > LZ4_BLOCKS_PER_TASK, b -> {
            int content = Math.min(LZ4_BLOCK_BYTES, declared - b * LZ4_BLOCK_BYTES);
            if (at[b] < 0) {
                System.arraycopy(payload, -1 - at[b], raw, b * LZ4_BLOCK_BYTES, content);
                return;
            }
            int written;
            try {
                written = LZ4Factory.fastestInstance().safeDecompressor().decompress(payload, at[b], size[b], raw,
                        b * LZ4_BLOCK_BYTES, content);
            } catch (LZ4Exception e) {
                throw corruptLz4("block " + b + " does not decompress: " + e.getMessage());
            }
            if (written != content) {
                throw corruptLz4("block " + b + " holds " + written + " bytes, not " + content);
            }
        });
        return raw;
    }

    private static WireRejectionException corruptLz4(String why) {
        return new WireRejectionException(RejectReason.SIZE_MISMATCH, "corrupt LZ4 stream: " + why);
    }

    /** {@code task} on 0..n-1, on the common pool's workers too when {@code parallel}. */
    private static void forEach(int n, boolean parallel, IntConsumer task) {
        IntStream range = IntStream.range(0, n);
        (parallel ? range.parallel() : range).forEach(task);
    }

    /** A little-endian buffer holding the u32 uncompressed length, with room for {@code streamBytes} more. */
    private static ByteBuffer withLength(int rawLength, long streamBytes) {
        return ByteBuffer.allocate(Math.toIntExact(4 + streamBytes)).order(ByteOrder.LITTLE_ENDIAN).putInt(rawLength);
    }

    /** @param expectedRawLength what the codec needs for the declared shape; anything else is refused unread */
    public byte[] decompress(byte[] payload, long expectedRawLength) {
        if (this == NONE) {
            return payload;
        }
        if (payload.length < 4) {
            throw new WireRejectionException(RejectReason.SIZE_MISMATCH, "compressed payload shorter than its header");
        }
        ByteBuffer in = ByteBuffer.wrap(payload).order(ByteOrder.LITTLE_ENDIAN);
        long declared = Integer.toUnsignedLong(in.getInt());
        TensorCodec.requireSize(expectedRawLength, declared);
        if (this == ZSTD) {
            // Into a buffer of the declared size: a stream that inflates past it fails instead of growing.
            byte[] raw = new byte[(int) declared];
            long read = Zstd.decompressByteArray(raw, 0, raw.length, payload, 4, payload.length - 4);
            if (Zstd.isError(read)) {
                throw new WireRejectionException(RejectReason.SIZE_MISMATCH, "corrupt ZSTD stream: "
                        + Zstd.getErrorName(read));
            }
            TensorCodec.requireSize(declared, read);
            return raw;
        }
        return lz4Read(payload, (int) declared);
    }
}
