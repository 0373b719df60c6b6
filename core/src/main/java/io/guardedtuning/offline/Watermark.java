package io.guardedtuning.offline;

import io.guardedtuning.tensor.HostTensor;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.function.Predicate;

/**
 * A keyed, per-session fingerprint in a released emulator's middle-layer weight matrices: every element gets
 * {@code ±ε·rms(W)}, the sign drawn from a generator seeded with HMAC-SHA256(provider key, session, tensor name).
 * Only the holder of the provider key can produce or test a pattern.
 *
 * <p>Detection is non-blind (the provider keeps the unmarked emulator): with {@code D = leaked − original} and the
 * candidate's signs {@code s}, the score {@code z = Σ D·s / sqrt(Σ D²)} is ≈ N(0, 1) for a wrong session (its signs
 * are independent of D) and ≈ √n for the right one (n marked elements), falling as other changes to the weights
 * grow. Limits: fine-tuning the middle, re-quantising, pruning or adding noise of size σ lower the right score to
 * about √n·ε/√(ε² + σ²); averaging copies of two sessions (collusion) splits the score between them; a leaker who
 * also removes the pattern needs the key. Distillation of a fresh model from the leaked one's outputs erases it.
 */
public final class Watermark {

    /** Relative strength: 0.5% of each tensor's RMS, which moves logits and perplexity negligibly. */
    public static final double DEFAULT_STRENGTH = 0.005;
    /** z-score above which a session is named: a wrong session reaches it with probability ≈ 1e-9. */
    public static final double DEFAULT_THRESHOLD = 6.0;

    /** The best-scoring candidate if its score clears the threshold, and every candidate's score. */
    public record Identification(Optional<String> session, Map<String, Double> scores, double threshold) {
    }

    private final byte[] providerKey;
    private final Predicate<String> marked;
    private final double strength;

    /**
     * @param providerKey the provider's secret (≥ 32 bytes)
     * @param layout      the emulator layout: its middle layers' matrices carry the mark
     * @param strength    ε relative to each tensor's RMS
     */
    public Watermark(byte[] providerKey, EmulatorLayout layout, double strength) {
        if (providerKey.length < 32) {
            throw new IllegalArgumentException("the watermark key needs at least 32 bytes, got " + providerKey.length);
        }
        if (!(strength > 0)) {
            throw new IllegalArgumentException("watermark strength must be > 0, got " + strength);
        }
        this.providerKey = providerKey.clone();
        this.marked = layout.emulatorMiddle().and(name -> name.endsWith(".weight"));
        this.strength = strength;
    }

    public Watermark(byte[] providerKey, EmulatorLayout layout) {
        this(providerKey, layout, DEFAULT_STRENGTH);
    }

    /** A copy of the emulator's tensors carrying session {@code sessionId}'s mark; the input is not modified. */
    public Map<String, HostTensor> apply(Map<String, HostTensor> emulatorTensors, String sessionId) {
        Map<String, HostTensor> out = new LinkedHashMap<>();
        emulatorTensors.forEach((name, t) -> {
            if (!isMarked(name, t)) {
                out.put(name, t);
                return;
            }
            float[] data = t.data().clone();
            float epsilon = (float) (strength * rms(data));
            SplittableRandom signs = signs(sessionId, name);
            for (int i = 0; i < data.length; i++) {
                data[i] += signs.nextBoolean() ? epsilon : -epsilon;
            }
            out.put(name, new HostTensor(t.shape(), data));
        });
        return out;
    }

    public Identification identify(Map<String, HostTensor> leaked, Map<String, HostTensor> original,
                                   Collection<String> candidateSessions) {
        return identify(leaked, original, candidateSessions, DEFAULT_THRESHOLD);
    }

    /** Scores each candidate session against the difference between a leaked copy and the unmarked emulator. */
    public Identification identify(Map<String, HostTensor> leaked, Map<String, HostTensor> original,
                                   Collection<String> candidateSessions, double threshold) {
        Map<String, Double> scores = new LinkedHashMap<>();
        for (String session : candidateSessions) {
            double correlation = 0;
            double energy = 0;
            for (Map.Entry<String, HostTensor> e : original.entrySet()) {
                HostTensor copy = leaked.get(e.getKey());
                if (!isMarked(e.getKey(), e.getValue()) || copy == null
                        || !java.util.Arrays.equals(copy.shape(), e.getValue().shape())) {
                    continue;
                }
                float[] o = e.getValue().data();
                float[] l = copy.data();
                SplittableRandom signs = signs(session, e.getKey());
                for (int i = 0; i < o.length; i++) {
                    double d = (double) l[i] - o[i];
                    correlation += signs.nextBoolean() ? d : -d;
                    energy += d * d;
                }
            }
            scores.put(session, energy == 0 ? 0.0 : correlation / Math.sqrt(energy));
        }
        Optional<String> best = scores.entrySet().stream().max(Map.Entry.comparingByValue())
                .filter(e -> e.getValue() >= threshold).map(Map.Entry::getKey);
        return new Identification(best, scores, threshold);
    }

    private boolean isMarked(String name, HostTensor t) {
        return marked.test(name) && t.shape().length == 2;
    }

    private SplittableRandom signs(String sessionId, String tensorName) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(providerKey, "HmacSHA256"));
            byte[] digest = mac.doFinal(("gt-watermark:" + sessionId + ":" + tensorName)
                    .getBytes(StandardCharsets.UTF_8));
            return new SplittableRandom(ByteBuffer.wrap(digest).getLong());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is mandatory on every Java platform", e);
        }
    }

    private static double rms(float[] data) {
        double sum = 0;
        for (float v : data) {
            sum += (double) v * v;
        }
        return Math.sqrt(sum / Math.max(1, data.length));
    }
}
