package io.guardedtuning.wire;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Random;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/**
 * The LZ4 frame reader against hostile frames: every field is checked before it is used, and each bad frame is a
 * {@code SIZE_MISMATCH} rejection that names what is wrong, never an exception of the decompressor or a buffer
 * grown past the declared length.
 */
class Lz4FrameTest {

    /** Two full blocks that compress (zeros) around one that is stored (noise), then a short last block. */
    private static byte[] raw() {
        byte[] raw = new byte[3 * PayloadCompression.LZ4_BLOCK_BYTES + 1000];
        byte[] noise = new byte[PayloadCompression.LZ4_BLOCK_BYTES];
        new Random(1).nextBytes(noise);
        System.arraycopy(noise, 0, raw, PayloadCompression.LZ4_BLOCK_BYTES, noise.length);
        return raw;
    }

    private static final byte[] RAW = raw();
    private static final byte[] FRAME = PayloadCompression.LZ4.compress(RAW);
    /** Offset of the first block's size word: length word, magic, FLG, BD, header checksum. */
    private static final int FIRST_BLOCK = 4 + 4 + 3;

    private static int word(byte[] frame, int at) {
        return ByteBuffer.wrap(frame).order(ByteOrder.LITTLE_ENDIAN).getInt(at);
    }

    private static byte[] edited(UnaryOperator<byte[]> edit) {
        return edit.apply(FRAME.clone());
    }

    private static void assertRefused(byte[] frame, String because) {
        WireRejectionException e = assertThrows(WireRejectionException.class,
                () -> PayloadCompression.LZ4.decompress(frame, RAW.length), because);
        assertEquals(RejectReason.SIZE_MISMATCH, e.reason(), because);
        assertTrue(e.getMessage().startsWith("corrupt LZ4 stream: "), because + ": " + e.getMessage());
    }

    @Test
    void aGoodFrameWithCompressedStoredAndShortBlocksReadsBack() {
        int second = FIRST_BLOCK + 4 + word(FRAME, FIRST_BLOCK);
        assertTrue(word(FRAME, FIRST_BLOCK) < PayloadCompression.LZ4_BLOCK_BYTES, "the zero block compresses");
        assertEquals(0x80000000 | PayloadCompression.LZ4_BLOCK_BYTES, word(FRAME, second), "the noise is stored");
        assertArrayEquals(RAW, PayloadCompression.LZ4.decompress(FRAME, RAW.length));
        assertArrayEquals(new byte[0], PayloadCompression.LZ4.decompress(PayloadCompression.LZ4.compress(new byte[0]),
                0));
    }

    @Test
    void everyBadFieldIsRefusedWithItsReason() {
        assertRefused(edited(f -> {
            f[4] ^= 1;
            return f;
        }), "magic");
        assertRefused(edited(f -> {
            f[8] |= 0x04;
            return f;
        }), "FLG asking for a content checksum the format does not carry");
        assertRefused(edited(f -> {
            f[9] = 0x70;
            return f;
        }), "BD of 4 MiB blocks");
        assertRefused(edited(f -> {
            f[10] ^= 1;
            return f;
        }), "header checksum");
        assertRefused(edited(f -> {
            ByteBuffer.wrap(f).order(ByteOrder.LITTLE_ENDIAN).putInt(FIRST_BLOCK,
                    PayloadCompression.LZ4_BLOCK_BYTES + 1);
            return f;
        }), "a block larger than 64 KiB");
        assertRefused(edited(f -> {
            ByteBuffer.wrap(f).order(ByteOrder.LITTLE_ENDIAN).putInt(FIRST_BLOCK, 0x80000000 | 100);
            return f;
        }), "a stored block shorter than its content");
        assertRefused(edited(f -> {
            ByteBuffer.wrap(f).order(ByteOrder.LITTLE_ENDIAN).putInt(FIRST_BLOCK, 0);
            return f;
        }), "an end mark where the declared length needs a block");
        assertRefused(edited(f -> {
            Arrays.fill(f, FIRST_BLOCK + 4, FIRST_BLOCK + 4 + word(FRAME, FIRST_BLOCK), (byte) 0xFF);
            return f;
        }), "a compressed block that does not decompress");
        assertRefused(Arrays.copyOf(FRAME, FRAME.length - 1), "a frame cut short");
        assertRefused(Arrays.copyOf(FRAME, FRAME.length + 1), "a byte after the end mark");
        assertRefused(Arrays.copyOf(FRAME, 9), "a header cut short");
    }
}
