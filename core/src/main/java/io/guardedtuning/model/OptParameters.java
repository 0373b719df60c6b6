package io.guardedtuning.model;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The one place that knows Hugging Face's tensor names for OPT and the shape of each, for a given config. Names use
 * the {@code model.decoder.} prefix that {@code OPTForCausalLM} checkpoints carry; {@link #canonical} maps the
 * unprefixed names of the {@code facebook/opt-*} hub files onto it.
 */
public final class OptParameters {

    public static final String PREFIX = "model.decoder.";
    public static final String EMBED_TOKENS = PREFIX + "embed_tokens.weight";
    public static final String EMBED_POSITIONS = PREFIX + "embed_positions.weight";
    public static final String PROJECT_IN = PREFIX + "project_in.weight";
    public static final String PROJECT_OUT = PREFIX + "project_out.weight";
    public static final String FINAL_NORM = PREFIX + "final_layer_norm.";
    public static final String LM_HEAD = "lm_head.weight";

    private OptParameters() {
    }

    public static String layer(int index) {
        return PREFIX + "layers." + index + ".";
    }

    /** Name to shape, in HF's order: embeddings, then each layer, then the final norm. */
    public static Map<String, long[]> expectedShapes(OptConfig c) {
        Map<String, long[]> m = new LinkedHashMap<>();
        long h = c.hiddenSize();
        m.put(EMBED_TOKENS, new long[] {c.vocabSize(), c.wordEmbedProjDim()});
        m.put(EMBED_POSITIONS, new long[] {c.maxPositionEmbeddings() + OptConfig.POSITION_OFFSET, h});
        if (c.hasProjections()) {
            m.put(PROJECT_IN, new long[] {h, c.wordEmbedProjDim()});
            m.put(PROJECT_OUT, new long[] {c.wordEmbedProjDim(), h});
        }
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            m.putAll(layerShapes(c, i));
        }
        if (c.hasFinalLayerNorm()) {
            norm(m, c, FINAL_NORM, h);
        }
        return m;
    }

    /** Shapes of one decoder layer's tensors. */
    public static Map<String, long[]> layerShapes(OptConfig c, int index) {
        Map<String, long[]> m = new LinkedHashMap<>();
        String p = layer(index);
        long h = c.hiddenSize();
        for (String proj : new String[] {"k_proj", "v_proj", "q_proj", "out_proj"}) {
            linear(m, c, p + "self_attn." + proj + ".", h, h);
        }
        norm(m, c, p + "self_attn_layer_norm.", h);
        linear(m, c, p + "fc1.", c.ffnDim(), h);
        linear(m, c, p + "fc2.", h, c.ffnDim());
        norm(m, c, p + "final_layer_norm.", h);
        return m;
    }

    private static void linear(Map<String, long[]> m, OptConfig c, String p, long out, long in) {
        m.put(p + "weight", new long[] {out, in});
        if (c.enableBias()) {
            m.put(p + "bias", new long[] {out});
        }
    }

    private static void norm(Map<String, long[]> m, OptConfig c, String p, long h) {
        if (c.layerNormElementwiseAffine()) {
            m.put(p + "weight", new long[] {h});
            m.put(p + "bias", new long[] {h});
        }
    }

    /**
     * Maps a checkpoint's tensor name to the canonical {@code model.decoder.*} form; returns null for tensors that
     * carry no weights ({@code decoder.version}) or duplicate one ({@code lm_head.weight}, tied to the embedding).
     */
    public static String canonical(String name) {
        if (name.endsWith(".version") || name.equals(LM_HEAD)) {
            return null;
        }
        if (name.startsWith("decoder.")) {
            return "model." + name;
        }
        return name;
    }
}
