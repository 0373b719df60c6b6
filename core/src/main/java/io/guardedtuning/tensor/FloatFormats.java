package io.guardedtuning.tensor;

/**
 * IEEE half (fp16) and bfloat16 conversions done in Java. DJL's PyTorch engine aborts the JVM on any BF16 array,
 * and Java 17 has no Float.float16ToFloat, so every 16-bit float on disk or on the wire goes through here.
 */
public final class FloatFormats {

    private FloatFormats() {
    }

    /** fp32 to bfloat16 bits, round to nearest even; NaN stays a (quiet) NaN. */
    public static short toBfloat16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if ((bits & 0x7F800000) == 0x7F800000 && (bits & 0x007FFFFF) != 0) {
            return (short) ((bits >>> 16) | 0x0040);
        }
        bits += 0x7FFF + ((bits >>> 16) & 1);
        return (short) (bits >>> 16);
    }

    public static float fromBfloat16(short bf) {
        return Float.intBitsToFloat((bf & 0xFFFF) << 16);
    }

    /** fp32 to IEEE binary16 bits, round to nearest even, overflow to infinity, subnormals kept. */
    public static short toFloat16(float f) {
        int bits = Float.floatToRawIntBits(f);
        int sign = (bits >>> 16) & 0x8000;
        int exp = (bits >>> 23) & 0xFF;
        int mant = bits & 0x007FFFFF;
        if (exp == 0xFF) {
            return (short) (sign | 0x7C00 | (mant != 0 ? 0x0200 | (mant >>> 13) : 0));
        }
        int e = exp - 127 + 15;
        if (e >= 0x1F) {
            return (short) (sign | 0x7C00);
        }
        if (e <= 0) {
            if (e < -10) {
                return (short) sign;
            }
            // Subnormal half: shift the mantissa (with its implicit 1) right, rounding to nearest even.
            int m = mant | 0x00800000;
            int shift = 14 - e;
            int half = m >>> shift;
            int rest = m & ((1 << shift) - 1);
            int mid = 1 << (shift - 1);
            if (rest > mid || (rest == mid && (half & 1) != 0)) {
                half++;
            }
            return (short) (sign | half);
        }
        int half = (e << 10) | (mant >>> 13);
        int rest = mant & 0x1FFF;
        if (rest > 0x1000 || (rest == 0x1000 && (half & 1) != 0)) {
            half++; // may carry into the exponent, which is the correct rounding up to the next binade or infinity
        }
        return (short) (sign | half);
    }

    public static float fromFloat16(short h) {
        int bits = h & 0xFFFF;
        int sign = (bits & 0x8000) << 16;
        int exp = (bits >>> 10) & 0x1F;
        int mant = bits & 0x03FF;
        if (exp == 0) {
            if (mant == 0) {
                return Float.intBitsToFloat(sign);
            }
            float v = mant * 0x1p-24f;
            return sign != 0 ? -v : v;
        }
        if (exp == 0x1F) {
            return Float.intBitsToFloat(sign | 0x7F800000 | (mant << 13));
        }
        return Float.intBitsToFloat(sign | ((exp - 15 + 127) << 23) | (mant << 13));
    }
}
