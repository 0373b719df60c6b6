package io.guardedtuning.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The fields of Hugging Face's {@code OPTConfig} that decide the math, with HF's defaults for missing fields.
 * Field names in JSON are HF's, so a {@code config.json} from a {@code facebook/opt-*} directory reads as is.
 */
public record OptConfig(
        int vocabSize,
        int hiddenSize,
        int numHiddenLayers,
        int ffnDim,
        int numAttentionHeads,
        int maxPositionEmbeddings,
        boolean doLayerNormBefore,
        int wordEmbedProjDim,
        boolean enableBias,
        boolean layerNormElementwiseAffine,
        boolean removeFinalLayerNorm,
        String activationFunction,
        int padTokenId,
        int bosTokenId,
        int eosTokenId,
        String torchDtype) {

    /** OPT's learned position table has this many extra rows in front. */
    public static final int POSITION_OFFSET = 2;

    public OptConfig {
        List<String> errors = new ArrayList<>();
        positive(errors, "vocab_size", vocabSize);
        positive(errors, "hidden_size", hiddenSize);
        if (numHiddenLayers < 0) {
            errors.add("num_hidden_layers must be >= 0, got " + numHiddenLayers);
        }
        positive(errors, "ffn_dim", ffnDim);
        positive(errors, "num_attention_heads", numAttentionHeads);
        positive(errors, "max_position_embeddings", maxPositionEmbeddings);
        positive(errors, "word_embed_proj_dim", wordEmbedProjDim);
        if (numAttentionHeads > 0 && hiddenSize % numAttentionHeads != 0) {
            errors.add("hidden_size " + hiddenSize + " is not divisible by num_attention_heads " + numAttentionHeads);
        }
        if (!"relu".equals(activationFunction)) {
            errors.add("activation_function '" + activationFunction + "' is not supported (only relu, as in OPT)");
        }
        if (!errors.isEmpty()) {
            throw new IllegalArgumentException("invalid OPT config: " + String.join("; ", errors));
        }
    }

    private static void positive(List<String> errors, String name, int value) {
        if (value <= 0) {
            errors.add(name + " must be > 0, got " + value);
        }
    }

    /** A config with OPT's defaults for everything but the shape. */
    public static OptConfig of(int vocabSize, int hiddenSize, int layers, int ffnDim, int heads, int maxPositions) {
        return new OptConfig(vocabSize, hiddenSize, layers, ffnDim, heads, maxPositions, true, hiddenSize, true, true,
                false, "relu", 1, 2, 2, "float32");
    }

    /** Published shapes of the OPT family (weights not included). */
    public static OptConfig named(String name) {
        return switch (name) {
            case "opt-125m" -> of(50272, 768, 12, 3072, 12, 2048);
            case "opt-350m" -> new OptConfig(50272, 1024, 24, 4096, 16, 2048, false, 512, true, true, false, "relu",
                    1, 2, 2, "float16");
            case "opt-1.3b" -> of(50272, 2048, 24, 8192, 32, 2048);
            case "opt-2.7b" -> of(50272, 2560, 32, 10240, 32, 2048);
            case "opt-6.7b" -> of(50272, 4096, 32, 16384, 32, 2048);
            default -> throw new IllegalArgumentException(
                    "unknown model shape '" + name + "' (known: opt-125m, opt-350m, opt-1.3b, opt-2.7b, opt-6.7b)");
        };
    }

    public int headDim() {
        return hiddenSize / numAttentionHeads;
    }

    public boolean hasProjections() {
        return wordEmbedProjDim != hiddenSize;
    }

    public boolean hasFinalLayerNorm() {
        return doLayerNormBefore && !removeFinalLayerNorm;
    }

    public OptConfig withVocabSize(int v) {
        return new OptConfig(v, hiddenSize, numHiddenLayers, ffnDim, numAttentionHeads, maxPositionEmbeddings,
                doLayerNormBefore, wordEmbedProjDim, enableBias, layerNormElementwiseAffine, removeFinalLayerNorm,
                activationFunction, padTokenId, bosTokenId, eosTokenId, torchDtype);
    }

    public OptConfig withLayers(int layers) {
        return new OptConfig(vocabSize, hiddenSize, layers, ffnDim, numAttentionHeads, maxPositionEmbeddings,
                doLayerNormBefore, wordEmbedProjDim, enableBias, layerNormElementwiseAffine, removeFinalLayerNorm,
                activationFunction, padTokenId, bosTokenId, eosTokenId, torchDtype);
    }

    public OptConfig withSpecialTokens(int pad, int bos, int eos) {
        return new OptConfig(vocabSize, hiddenSize, numHiddenLayers, ffnDim, numAttentionHeads, maxPositionEmbeddings,
                doLayerNormBefore, wordEmbedProjDim, enableBias, layerNormElementwiseAffine, removeFinalLayerNorm,
                activationFunction, pad, bos, eos, torchDtype);
    }

    public OptConfig withTorchDtype(String dtype) {
        return new OptConfig(vocabSize, hiddenSize, numHiddenLayers, ffnDim, numAttentionHeads, maxPositionEmbeddings,
                doLayerNormBefore, wordEmbedProjDim, enableBias, layerNormElementwiseAffine, removeFinalLayerNorm,
                activationFunction, padTokenId, bosTokenId, eosTokenId, dtype);
    }

    /** Parses HF's config.json; {@code source} names the file in error messages. */
    public static OptConfig fromJson(JsonNode n, String source) {
        try {
            int hidden = required(n, "hidden_size", source);
            requireTiedHead(n, source);
            return new OptConfig(
                    required(n, "vocab_size", source),
                    hidden,
                    required(n, "num_hidden_layers", source),
                    required(n, "ffn_dim", source),
                    required(n, "num_attention_heads", source),
                    n.path("max_position_embeddings").asInt(2048),
                    n.path("do_layer_norm_before").asBoolean(true),
                    n.path("word_embed_proj_dim").asInt(hidden),
                    n.path("enable_bias").asBoolean(true),
                    n.path("layer_norm_elementwise_affine").asBoolean(true),
                    n.path("_remove_final_layer_norm").asBoolean(false),
                    n.path("activation_function").asText("relu"),
                    n.path("pad_token_id").asInt(1),
                    n.path("bos_token_id").asInt(2),
                    n.path("eos_token_id").asInt(2),
                    n.path("torch_dtype").asText("float32"));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(source + ": " + e.getMessage(), e);
        }
    }

    /**
     * Refuses an untied LM head: the split gives the head to the client as the transpose of its own token
     * embedding, so a checkpoint with a separate {@code lm_head.weight} would load with the wrong logits, and a
     * re-save would silently tie it.
     */
    private static void requireTiedHead(JsonNode n, String source) {
        JsonNode tie = n.get("tie_word_embeddings");
        if (tie != null && !(tie.isBoolean() && tie.booleanValue())) {
            throw new IllegalArgumentException("field 'tie_word_embeddings' is " + tie
                    + ": an untied lm_head.weight is not supported (OPT ties the head to the token embedding, and "
                    + "the split gives both to the client as one tensor)");
        }
    }

    private static int required(JsonNode n, String field, String source) {
        JsonNode v = n.get(field);
        if (v == null || !v.canConvertToInt()) {
            throw new IllegalArgumentException(source + ": field '" + field + "' is missing or not an integer");
        }
        return v.asInt();
    }

    public static OptConfig read(Path configJson) throws IOException {
        return fromJson(new ObjectMapper().readTree(configJson.toFile()), configJson.toString());
    }

    public ObjectNode toJson() {
        ObjectNode n = new ObjectMapper().createObjectNode();
        n.putArray("architectures").add("OPTForCausalLM");
        n.put("model_type", "opt");
        n.put("vocab_size", vocabSize);
        n.put("hidden_size", hiddenSize);
        n.put("num_hidden_layers", numHiddenLayers);
        n.put("ffn_dim", ffnDim);
        n.put("num_attention_heads", numAttentionHeads);
        n.put("max_position_embeddings", maxPositionEmbeddings);
        n.put("do_layer_norm_before", doLayerNormBefore);
        n.put("word_embed_proj_dim", wordEmbedProjDim);
        n.put("enable_bias", enableBias);
        n.put("layer_norm_elementwise_affine", layerNormElementwiseAffine);
        n.put("_remove_final_layer_norm", removeFinalLayerNorm);
        n.put("activation_function", activationFunction);
        n.put("pad_token_id", padTokenId);
        n.put("bos_token_id", bosTokenId);
        n.put("eos_token_id", eosTokenId);
        n.put("torch_dtype", torchDtype);
        n.put("tie_word_embeddings", true);
        n.put("dropout", 0.0);
        n.put("attention_dropout", 0.0);
        return n;
    }
}
