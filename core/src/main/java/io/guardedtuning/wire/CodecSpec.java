package io.guardedtuning.wire;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.StringJoiner;

/**
 * A codec's identity and parameters: everything a receiver needs to decode, carried in the {@code ce_gtcodec} and
 * {@code ce_gtcodecparams} headers. The stochastic-rounding seed is deliberately not sent: decoding does not need
 * it, and the rounding noise is the sender's business.
 *
 * @param topK 0 for dense; otherwise only the k largest-magnitude elements are sent (indices + values)
 */
public record CodecSpec(CodecFormat format, ScaleGranularity granularity, boolean symmetric,
                        boolean stochasticRounding, long seed, int topK, PayloadCompression compression) {

    public CodecSpec {
        if (topK < 0) {
            throw new IllegalArgumentException("topK must be >= 0: " + topK);
        }
        if (!format.quantised() && (stochasticRounding || symmetric)) {
            throw new IllegalArgumentException(format + " has no rounding or zero point to configure");
        }
        if (format == CodecFormat.RAW && (topK > 0)) {
            throw new IllegalArgumentException("raw payloads cannot be sparsified");
        }
    }

    public static CodecSpec of(CodecFormat format) {
        return new CodecSpec(format, ScaleGranularity.PER_TOKEN, false, false, 0, 0, PayloadCompression.NONE);
    }

    /** Asymmetric (min/max) per-token quantisation: the default for activations. */
    public static CodecSpec activations(int bits) {
        return of(bits == 8 ? CodecFormat.INT8 : bits == 4 ? CodecFormat.INT4 : unsupportedBits(bits));
    }

    /** Symmetric per-token quantisation: the default for gradients, whose sign matters and whose mean is ~0. */
    public static CodecSpec gradients(int bits) {
        return activations(bits).withSymmetric(true);
    }

    private static CodecFormat unsupportedBits(int bits) {
        throw new IllegalArgumentException("only 8- and 4-bit quantisation: " + bits);
    }

    public CodecSpec withGranularity(ScaleGranularity g) {
        return new CodecSpec(format, g, symmetric, stochasticRounding, seed, topK, compression);
    }

    public CodecSpec withSymmetric(boolean s) {
        return new CodecSpec(format, granularity, s, stochasticRounding, seed, topK, compression);
    }

    public CodecSpec withStochasticRounding(long randomSeed) {
        return new CodecSpec(format, granularity, symmetric, true, randomSeed, topK, compression);
    }

    public CodecSpec withTopK(int k) {
        return new CodecSpec(format, granularity, symmetric, stochasticRounding, seed, k, compression);
    }

    public CodecSpec withCompression(PayloadCompression c) {
        return new CodecSpec(format, granularity, symmetric, stochasticRounding, seed, topK, c);
    }

    public TensorCodec newCodec() {
        TensorCodec codec = switch (format) {
            case FP32, FP16, BF16 -> new FloatCodec(format);
            case INT8, INT4 -> new UniformQuantCodec(format.quantisationBits(), granularity, symmetric,
                    stochasticRounding ? new SplittableRandom(seed) : null);
            case RAW -> throw new IllegalStateException("raw payloads are not tensors");
        };
        if (topK > 0) {
            codec = new TopKCodec(topK, codec);
        }
        return compression == PayloadCompression.NONE ? codec : new CompressedCodec(codec, compression);
    }

    /** Value of {@code ce_gtcodecparams}: {@code key=value} pairs joined by ';', keys in a fixed order. */
    public String headerParams() {
        StringJoiner params = new StringJoiner(";");
        if (format.quantised()) {
            params.add("scale=" + lower(granularity));
            params.add("zero=" + (symmetric ? "symmetric" : "asymmetric"));
            params.add("rounding=" + (stochasticRounding ? "stochastic" : "nearest"));
        }
        params.add("topk=" + topK);
        params.add("compression=" + lower(compression));
        return params.toString();
    }

    /** @throws WireRejectionException UNKNOWN_CODEC for any name, key or value this version does not know */
    public static CodecSpec fromHeaders(String codecName, String headerParams) {
        CodecFormat format = CodecFormat.fromWireName(codecName).orElseThrow(
                () -> new WireRejectionException(RejectReason.UNKNOWN_CODEC, "unknown codec '" + codecName + "'"));
        Map<String, String> params = new LinkedHashMap<>();
        for (String pair : headerParams.split(";")) {
            int eq = pair.indexOf('=');
            if (eq <= 0 || params.put(pair.substring(0, eq), pair.substring(eq + 1)) != null) {
                throw unknown("malformed codec parameters '" + headerParams + "'");
            }
        }
        try {
            CodecSpec spec = new CodecSpec(format,
                    format.quantised() ? enumValue(ScaleGranularity.class, params.remove("scale")) : ScaleGranularity.PER_TOKEN,
                    format.quantised() && choice(params.remove("zero"), "symmetric", "asymmetric"),
                    format.quantised() && choice(params.remove("rounding"), "stochastic", "nearest"),
                    0,
                    Integer.parseInt(required(params.remove("topk"))),
                    enumValue(PayloadCompression.class, params.remove("compression")));
            if (!params.isEmpty()) {
                throw unknown("unknown codec parameters " + params.keySet());
            }
            if (!spec.headerParams().equals(headerParams)) {
                throw unknown("codec parameters not in canonical form: '" + headerParams + "'");
            }
            return spec;
        } catch (IllegalArgumentException e) {
            throw unknown("bad codec parameters '" + headerParams + "': " + e.getMessage());
        }
    }

    private static WireRejectionException unknown(String detail) {
        return new WireRejectionException(RejectReason.UNKNOWN_CODEC, detail);
    }

    private static String required(String value) {
        if (value == null) {
            throw new IllegalArgumentException("missing parameter");
        }
        return value;
    }

    private static boolean choice(String value, String yes, String no) {
        if (yes.equals(value)) {
            return true;
        }
        if (no.equals(value)) {
            return false;
        }
        throw new IllegalArgumentException("expected " + yes + " or " + no + ", got " + value);
    }

    private static <E extends Enum<E>> E enumValue(Class<E> type, String value) {
        return Enum.valueOf(type, required(value).toUpperCase(Locale.ROOT));
    }

    private static String lower(Enum<?> e) {
        return e.name().toLowerCase(Locale.ROOT);
    }
}
