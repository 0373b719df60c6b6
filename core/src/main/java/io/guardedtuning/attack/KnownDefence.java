package io.guardedtuning.attack;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Everything about a session's defence that the provider knows (Kerckhoffs: the settings, never the client's
 * secret seed, weights or data). The client announces it in the signed attributes of its CONTROL start, and the
 * auditor chooses and trains its adaptive attacker for it.
 *
 * @param design        "online" or "gradfree" (whether the input adapter drifts during the session)
 * @param activationBits bits of h_in on the wire (0 or 32 = full precision)
 * @param noiseStd      standard deviation of the Gaussian noise the client adds to h_in (0 = none)
 * @param alpha         weight of the distance-correlation regulariser (0 = none)
 * @param learningRate  the client's learning rate for its adapters (the drift an attacker can follow)
 * @param warmup        the privacy warm-up recipe run before the first exchange ("none" or a recipe spec)
 */
public record KnownDefence(String design, int activationBits, float noiseStd, float alpha, float learningRate,
                           String warmup) {

    public static final KnownDefence NONE = new KnownDefence("online", 0, 0f, 0f, 0f, "none");

    private static final String DESIGN = "design";
    private static final String BITS = "bitsup";
    private static final String NOISE = "noise";
    private static final String ALPHA = "alpha";
    private static final String LR = "lr";
    private static final String WARMUP = "warmup";

    public KnownDefence {
        if (activationBits < 0 || activationBits > 32) {
            throw new IllegalArgumentException("activationBits must be 0..32, got " + activationBits);
        }
        if (!isFiniteNonNegative(noiseStd) || !isFiniteNonNegative(alpha) || !isFiniteNonNegative(learningRate)) {
            throw new IllegalArgumentException("noise, alpha and learning rate must be finite and >= 0");
        }
        if (warmup == null || warmup.isBlank() || warmup.length() > 200) {
            throw new IllegalArgumentException("warmup must be 'none' or a recipe of at most 200 characters");
        }
    }

    /** What a noise σ, α or learning rate must be (NaN and infinities are refused; a record may carry any text). */
    public static boolean isFiniteNonNegative(float v) {
        return v >= 0 && !Float.isInfinite(v);
    }

    /** The same defence with the noise σ an activation names (the leakage budget may raise it within a pass). */
    public KnownDefence withNoise(float std) {
        return new KnownDefence(design, activationBits, std, alpha, learningRate, warmup);
    }

    /** The part of the defence applied to h_in on the wire itself. */
    public WireDefence wire() {
        return new WireDefence(activationBits >= 32 ? 0 : activationBits, noiseStd);
    }

    /** As protocol attributes of the CONTROL start (signed with it). */
    public Map<String, String> toAttributes() {
        Map<String, String> out = new LinkedHashMap<>();
        out.put(DESIGN, design);
        out.put(BITS, Integer.toString(activationBits));
        out.put(NOISE, Float.toString(noiseStd));
        out.put(ALPHA, Float.toString(alpha));
        out.put(LR, Float.toString(learningRate));
        out.put(WARMUP, warmup);
        return out;
    }

    /**
     * Reads the attributes of a CONTROL start; a start without them (an older client) announces no defence.
     *
     * @throws IllegalArgumentException naming the attribute that is present but malformed
     */
    public static KnownDefence fromAttributes(Map<String, String> attributes) {
        if (!attributes.containsKey(DESIGN)) {
            return NONE;
        }
        String design = attributes.get(DESIGN).toLowerCase(Locale.ROOT);
        if (!design.equals("online") && !design.equals("gradfree")) {
            throw new IllegalArgumentException("attribute 'design' must be online or gradfree, got '" + design + "'");
        }
        return new KnownDefence(design, (int) number(attributes, BITS), (float) number(attributes, NOISE),
                (float) number(attributes, ALPHA), (float) number(attributes, LR),
                attributes.getOrDefault(WARMUP, "none"));
    }

    private static double number(Map<String, String> attributes, String name) {
        String v = attributes.get(name);
        if (v == null) {
            throw new IllegalArgumentException("attribute '" + name + "' missing from the announced defence");
        }
        try {
            double d = Double.parseDouble(v);
            if (!Double.isFinite(d)) {
                throw new NumberFormatException();
            }
            return d;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("attribute '" + name + "' is not a finite number: '" + v + "'");
        }
    }
}
