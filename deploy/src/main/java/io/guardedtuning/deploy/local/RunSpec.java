package io.guardedtuning.deploy.local;

import io.guardedtuning.split.Design;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * One local GuardedTuning session to run: the design and its settings, the model and the task.
 *
 * @param keptLayers  Offline: middle blocks the emulator keeps (0: half)
 * @param distilSteps Offline: distillation steps before release (0: layer-drop only)
 * @param defence     the client's defences before anything is sent
 */
public record RunSpec(String id, Design design, int k, float alpha, int bitsUp, int bitsDown, int gradientBitsUp,
                      int gradientBitsDown, int batchSize, float learningRate, int epochs, long seed, String model,
                      String task, int trainSize, int evalSize, int maxSteps, int auditEvery, boolean baseline,
                      int keptLayers, int distilSteps, Defence defence) {

    /**
     * The client's defences (client-compute's {@code gt.client.privacy.*}).
     *
     * @param noise         σ on h_in as a multiple of the pretrained h_in's RMS (0 = none)
     * @param warmup        the privacy warm-up recipe ("none", dcor-lm[:...] or dcor-kd[:...])
     * @param leakageBudget largest ROUGE-L F1 of the client's own attack a sent batch may have (0 = none)
     */
    public record Defence(float noise, String warmup, double leakageBudget) {
        public static final Defence NONE = new Defence(0f, "none", 0);

        public boolean isNone() {
            return noise == 0 && "none".equals(warmup) && leakageBudget == 0;
        }
    }

    /** A session without client defences. */
    public RunSpec(String id, Design design, int k, float alpha, int bitsUp, int bitsDown, int gradientBitsUp,
                   int gradientBitsDown, int batchSize, float learningRate, int epochs, long seed, String model,
                   String task, int trainSize, int evalSize, int maxSteps, int auditEvery, boolean baseline,
                   int keptLayers, int distilSteps) {
        this(id, design, k, alpha, bitsUp, bitsDown, gradientBitsUp, gradientBitsDown, batchSize, learningRate,
                epochs, seed, model, task, trainSize, evalSize, maxSteps, auditEvery, baseline, keptLayers,
                distilSteps, Defence.NONE);
    }

    /** A split-design session (Online or Gradfree), or Offline with the default emulator. */
    public RunSpec(String id, Design design, int k, float alpha, int bitsUp, int bitsDown, int gradientBitsUp,
                   int gradientBitsDown, int batchSize, float learningRate, int epochs, long seed, String model,
                   String task, int trainSize, int evalSize, int maxSteps, int auditEvery, boolean baseline) {
        this(id, design, k, alpha, bitsUp, bitsDown, gradientBitsUp, gradientBitsDown, batchSize, learningRate,
                epochs, seed, model, task, trainSize, evalSize, maxSteps, auditEvery, baseline, 0, 0);
    }

    public RunSpec {
        if (keptLayers < 0 || distilSteps < 0) {
            throw new IllegalArgumentException("kept layers and distillation steps must be >= 0");
        }
        defence = defence == null ? Defence.NONE : defence;
    }

    /**
     * A readable, file-name-safe id from the settings that vary in experiments. Offline has no activations on the
     * wire, so its id names the emulator's kept blocks instead of a precision; seeds other than 1 are suffixed.
     */
    public static String idFor(Design design, int k, float alpha, int bits, String task, int keptLayers, long seed) {
        String settings = design == Design.OFFLINE ? "s" + (keptLayers == 0 ? "half" : keptLayers)
                : String.format(Locale.ROOT, "a%s-b%d", trim(alpha), bits);
        String id = String.format(Locale.ROOT, "%s-k%d-%s-%s", design.id(), k, settings,
                task.replaceAll("[^A-Za-z0-9]+", "_")).replaceAll("_+$", "");
        return seed == 1 ? id : id + "-seed" + seed;
    }

    private static String trim(float f) {
        return f == Math.rint(f) ? Integer.toString((int) f) : Float.toString(f).replace('.', 'p');
    }

    /** The settings as the report lists them. */
    public Map<String, Object> settings() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("design", design.id());
        m.put("k", k);
        m.put("alpha", alpha);
        m.put("bits up / down", bitsUp + " / " + bitsDown);
        m.put("gradient bits up / down", gradientBitsUp + " / " + gradientBitsDown);
        m.put("batch size", batchSize);
        m.put("learning rate", learningRate);
        m.put("epochs", epochs);
        m.put("max steps", maxSteps);
        m.put("seed", seed);
        m.put("train examples", trainSize);
        m.put("eval examples", evalSize);
        m.put("audit every", auditEvery);
        if (design == Design.OFFLINE) {
            m.put("emulator kept blocks", keptLayers == 0 ? "half of the middle" : keptLayers);
            m.put("distillation steps", distilSteps);
        }
        if (!defence.isNone()) {
            m.put("noise on h_in (x RMS)", defence.noise());
            m.put("privacy warm-up", defence.warmup());
            m.put("leakage budget (ROUGE-L F1)", defence.leakageBudget() == 0 ? "none" : defence.leakageBudget());
        }
        return m;
    }

    /** System properties that configure client-compute for this run (keys: docs/architecture.md). */
    public Map<String, String> clientProperties() {
        Map<String, String> p = new LinkedHashMap<>();
        p.put("gt.client.session-id", id);
        p.put("gt.client.design", design.id());
        p.put("gt.client.k", Integer.toString(k));
        p.put("gt.client.alpha", Float.toString(alpha));
        p.put("gt.client.bits-up", Integer.toString(bitsUp));
        p.put("gt.client.bits-down", Integer.toString(bitsDown));
        p.put("gt.client.gradient-bits-up", Integer.toString(gradientBitsUp));
        p.put("gt.client.gradient-bits-down", Integer.toString(gradientBitsDown));
        p.put("gt.client.batch-size", Integer.toString(batchSize));
        p.put("gt.client.learning-rate", Float.toString(learningRate));
        p.put("gt.client.epochs", Integer.toString(epochs));
        p.put("gt.client.seed", Long.toString(seed));
        p.put("gt.client.max-steps", Integer.toString(maxSteps));
        p.put("gt.client.audit-every", Integer.toString(auditEvery));
        p.put("gt.client.model", model);
        p.put("gt.client.task.name", task);
        p.put("gt.client.task.train-size", Integer.toString(trainSize));
        p.put("gt.client.task.eval-size", Integer.toString(evalSize));
        if (design == Design.OFFLINE) {
            p.put("gt.client.offline.kept-layers", Integer.toString(keptLayers));
            p.put("gt.client.offline.distil-steps", Integer.toString(distilSteps));
        }
        if (!defence.isNone()) {
            p.put("gt.client.privacy.noise", Float.toString(defence.noise()));
            p.put("gt.client.privacy.warmup", defence.warmup());
            p.put("gt.client.privacy.leakage-budget", Double.toString(defence.leakageBudget()));
        }
        return p;
    }
}
