package io.guardedtuning.wire;

import io.guardedtuning.tensor.FloatFormats;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The branch-free binary16 conversions against the first, comparing ones: the same bits for every float tried, and for
 * every one of the 65,536 halves back.
 */
class Float16ConversionTest {

    private static void check(int bits) {
        float f = Float.intBitsToFloat(bits);
        short want = ReferenceCodecs.toFloat16(f);
        short got = FloatFormats.toFloat16(f);
        if (want != got) {
            assertEquals(Integer.toHexString(want & 0xFFFF), Integer.toHexString(got & 0xFFFF),
                    "float bits 0x" + Integer.toHexString(bits));
        }
    }

    /** Every 7th float bit pattern, and every pattern whose exponent is where rounding changes (subnormal, overflow). */
    @Test
    void convertsLikeTheReferenceOnEveryClassOfFloat() {
        for (long b = 0; b <= 0xFFFFFFFFL; b += 7) {
            check((int) b);
        }
        for (int sign : new int[] {0, 0x80000000}) {
            for (int exp : new int[] {0, 101, 102, 112, 113, 142, 143, 255}) {
                for (int mant = 0; mant < (1 << 23); mant++) {
                    check(sign | exp << 23 | mant);
                }
            }
        }
    }

    @Test
    void readsEveryHalfLikeTheReference() {
        for (int h = 0; h <= 0xFFFF; h++) {
            int want = Float.floatToRawIntBits(ReferenceCodecs.fromFloat16((short) h));
            int got = Float.floatToRawIntBits(FloatFormats.fromFloat16((short) h));
            if (want != got) {
                assertEquals(Integer.toHexString(want), Integer.toHexString(got), "half 0x" + Integer.toHexString(h));
            }
        }
    }
}
