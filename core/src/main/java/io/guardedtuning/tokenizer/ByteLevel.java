package io.guardedtuning.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * GPT-2's reversible byte-to-unicode table: every byte maps to a printable character, so byte-level BPE tokens can be
 * stored as ordinary strings in {@code vocab.json}. Printable Latin-1 bytes map to themselves; the other 68 bytes map
 * to U+0100 onwards, in byte order.
 */
final class ByteLevel {

    /** The 256 byte values in GPT-2's order: printable ones first. GPT-2's ids 0..255 follow this order. */
    static final int[] BYTE_ORDER = new int[256];
    private static final char[] BYTE_TO_CHAR = new char[256];
    private static final int[] CHAR_TO_BYTE = new int[256 + 68];

    static {
        Arrays.fill(CHAR_TO_BYTE, -1);
        int position = 0;
        for (int b = 0; b < 256; b++) {
            if (isPrintable(b)) {
                BYTE_ORDER[position++] = b;
                BYTE_TO_CHAR[b] = (char) b;
            }
        }
        int shifted = 0;
        for (int b = 0; b < 256; b++) {
            if (!isPrintable(b)) {
                BYTE_ORDER[position++] = b;
                BYTE_TO_CHAR[b] = (char) (256 + shifted++);
            }
        }
        for (int b = 0; b < 256; b++) {
            CHAR_TO_BYTE[BYTE_TO_CHAR[b]] = b;
        }
    }

    private ByteLevel() {
    }

    private static boolean isPrintable(int b) {
        return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    }

    static char charOf(int byteValue) {
        return BYTE_TO_CHAR[byteValue & 0xFF];
    }

    static String encode(byte[] bytes) {
        char[] chars = new char[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            chars[i] = BYTE_TO_CHAR[bytes[i] & 0xFF];
        }
        return new String(chars);
    }

    /**
     * The bytes a token string stands for. A string with characters outside the table (an added token such as
     * {@code <|endoftext|>} is inside it, but a hand-made one need not be) stands for its own UTF-8.
     */
    static byte[] decode(String token) {
        byte[] bytes = new byte[token.length()];
        for (int i = 0; i < token.length(); i++) {
            char c = token.charAt(i);
            int b = c < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[c] : -1;
            if (b < 0) {
                return token.getBytes(StandardCharsets.UTF_8);
            }
            bytes[i] = (byte) b;
        }
        return bytes;
    }
}
