package io.guardedtuning.tokenizer;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Reading and writing the Hugging Face tokenizer files, with errors that name the file and the field. */
final class TokenizerFiles {

    static final List<String> USUAL_SPECIAL_TOKENS =
            List.of("<s>", "</s>", "<pad>", "<unk>", "<mask>", "<|endoftext|>");

    private static final ObjectMapper JSON = new ObjectMapper();

    private TokenizerFiles() {
    }

    static BpeTokenizer readTokenizerJson(InputStream in, String source) throws IOException {
        JsonNode root = parse(in, source);
        if (!root.isObject()) {
            throw new TokenizerFormatException(source, "not a JSON object");
        }
        JsonNode normalizer = root.path("normalizer");
        if (!normalizer.isMissingNode() && !normalizer.isNull()) {
            throw new TokenizerFormatException(source, "field 'normalizer' must be null, got " + normalizer);
        }
        JsonNode preTokenizer = root.path("pre_tokenizer");
        if (!"ByteLevel".equals(preTokenizer.path("type").asText())) {
            throw new TokenizerFormatException(source,
                    "field 'pre_tokenizer' must be of type ByteLevel, got " + preTokenizer);
        }
        if (preTokenizer.path("add_prefix_space").asBoolean(false)) {
            throw new TokenizerFormatException(source, "field 'pre_tokenizer.add_prefix_space' true is not supported");
        }
        if (!preTokenizer.path("use_regex").asBoolean(true)) {
            throw new TokenizerFormatException(source, "field 'pre_tokenizer.use_regex' false is not supported");
        }

        JsonNode model = root.path("model");
        if (!model.isObject()) {
            throw new TokenizerFormatException(source, "missing object field 'model'");
        }
        if (!"BPE".equals(model.path("type").asText())) {
            throw new TokenizerFormatException(source, "field 'model.type' must be BPE, got " + model.path("type"));
        }
        for (String affix : List.of("continuing_subword_prefix", "end_of_word_suffix")) {
            String value = model.path(affix).asText("");
            if (!value.isEmpty()) {
                throw new TokenizerFormatException(source,
                        "field 'model." + affix + "' must be empty, got '" + value + "'");
            }
        }
        JsonNode dropout = model.path("dropout");
        if (!dropout.isMissingNode() && !dropout.isNull()) {
            throw new TokenizerFormatException(source, "field 'model.dropout' must be null, got " + dropout);
        }

        JsonNode vocabNode = model.path("vocab");
        if (!vocabNode.isObject()) {
            throw new TokenizerFormatException(source, "missing object field 'model.vocab'");
        }
        Map<String, Integer> vocab = readVocab(vocabNode, source, "model.vocab");

        JsonNode mergesNode = model.path("merges");
        if (!mergesNode.isArray()) {
            throw new TokenizerFormatException(source, "missing array field 'model.merges'");
        }
        List<BpeTokenizer.Merge> merges = new ArrayList<>(mergesNode.size());
        for (int i = 0; i < mergesNode.size(); i++) {
            merges.add(readMerge(mergesNode.get(i), source, "model.merges[" + i + "]"));
        }

        List<BpeTokenizer.AddedToken> addedTokens = new ArrayList<>();
        JsonNode addedNode = root.path("added_tokens");
        if (!addedNode.isMissingNode() && !addedNode.isArray()) {
            throw new TokenizerFormatException(source, "field 'added_tokens' must be an array");
        }
        for (int i = 0; i < addedNode.size(); i++) {
            JsonNode token = addedNode.get(i);
            String field = "added_tokens[" + i + "]";
            if (!token.path("content").isTextual() || !token.path("id").canConvertToInt()
                    || !token.path("id").isIntegralNumber()) {
                throw new TokenizerFormatException(source,
                        "field '" + field + "' needs a string 'content' and an int 'id'");
            }
            addedTokens.add(new BpeTokenizer.AddedToken(token.get("content").asText(), token.get("id").asInt(),
                    token.path("special").asBoolean(false)));
        }
        return new BpeTokenizer(vocab, merges, addedTokens, new BpeTokenizer.Origin(
                source + " field 'model.vocab'", source + " field 'model.merges'", source + " field 'added_tokens'"));
    }

    /** Special tokens missing from the vocab are an error if {@code specialsMustExist}, otherwise skipped. */
    static BpeTokenizer readVocabAndMerges(Path vocabJson, Path mergesTxt, List<String> specialTokens,
                                           boolean specialsMustExist) throws IOException {
        String vocabSource = vocabJson.toString();
        JsonNode vocabNode;
        try (InputStream in = Files.newInputStream(vocabJson)) {
            vocabNode = parse(in, vocabSource);
        }
        if (!vocabNode.isObject()) {
            throw new TokenizerFormatException(vocabSource, "must be a JSON object of token to id");
        }
        Map<String, Integer> vocab = readVocab(vocabNode, vocabSource, "vocab");

        List<BpeTokenizer.Merge> merges = new ArrayList<>();
        try (BufferedReader reader = Files.newBufferedReader(mergesTxt, StandardCharsets.UTF_8)) {
            String line;
            int lineNumber = 0;
            while ((line = reader.readLine()) != null) {
                lineNumber++;
                if ((lineNumber == 1 && line.startsWith("#version")) || line.isEmpty()) {
                    continue;
                }
                String[] parts = line.split(" ", -1);
                if (parts.length != 2 || parts[0].isEmpty() || parts[1].isEmpty()) {
                    throw new TokenizerFormatException(mergesTxt.toString(),
                            "line " + lineNumber + " must be two tokens separated by one space, got '" + line + "'");
                }
                merges.add(new BpeTokenizer.Merge(parts[0], parts[1]));
            }
        }

        List<BpeTokenizer.AddedToken> addedTokens = new ArrayList<>();
        for (String special : specialTokens) {
            Integer id = vocab.get(special);
            if (id != null) {
                addedTokens.add(new BpeTokenizer.AddedToken(special, id, true));
            } else if (specialsMustExist) {
                throw new TokenizerFormatException(vocabSource, "special token '" + special + "' is not in the vocab");
            }
        }
        return new BpeTokenizer(vocab, merges, addedTokens,
                new BpeTokenizer.Origin(vocabSource, mergesTxt.toString(), vocabSource + " (special tokens)"));
    }

    private static JsonNode parse(InputStream in, String source) throws IOException {
        try {
            return JSON.readTree(in);
        } catch (JsonProcessingException e) {
            throw new TokenizerFormatException(source, "not valid JSON: " + e.getOriginalMessage());
        }
    }

    private static Map<String, Integer> readVocab(JsonNode node, String source, String field)
            throws TokenizerFormatException {
        Map<String, Integer> vocab = new LinkedHashMap<>();
        Iterator<Map.Entry<String, JsonNode>> entries = node.fields();
        while (entries.hasNext()) {
            Map.Entry<String, JsonNode> entry = entries.next();
            JsonNode id = entry.getValue();
            if (!id.isIntegralNumber() || !id.canConvertToInt()) {
                throw new TokenizerFormatException(source,
                        "field '" + field + "': id of '" + entry.getKey() + "' must be an int, got " + id);
            }
            vocab.put(entry.getKey(), id.asInt());
        }
        return vocab;
    }

    /** A merge is "left right" in older files and ["left", "right"] in newer ones. */
    private static BpeTokenizer.Merge readMerge(JsonNode node, String source, String field)
            throws TokenizerFormatException {
        if (node.isTextual()) {
            String[] parts = node.asText().split(" ", -1);
            if (parts.length == 2 && !parts[0].isEmpty() && !parts[1].isEmpty()) {
                return new BpeTokenizer.Merge(parts[0], parts[1]);
            }
        } else if (node.isArray() && node.size() == 2 && node.get(0).isTextual() && node.get(1).isTextual()) {
            return new BpeTokenizer.Merge(node.get(0).asText(), node.get(1).asText());
        }
        throw new TokenizerFormatException(source,
                "field '" + field + "' must be \"left right\" or [\"left\", \"right\"], got " + node);
    }

    static byte[] writeTokenizerJson(BpeTokenizer tokenizer) {
        ObjectNode root = JSON.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        for (BpeTokenizer.AddedToken token : tokenizer.addedTokens()) {
            added.addObject()
                    .put("id", token.id())
                    .put("content", token.content())
                    .put("single_word", false)
                    .put("lstrip", false)
                    .put("rstrip", false)
                    .put("normalized", false)
                    .put("special", token.special());
        }
        root.putNull("normalizer");
        byteLevel(root.putObject("pre_tokenizer"), false, true);
        byteLevel(root.putObject("post_processor"), false, true);
        byteLevel(root.putObject("decoder"), true, true);

        ObjectNode model = root.putObject("model");
        model.put("type", "BPE");
        model.putNull("dropout");
        model.putNull("unk_token");
        model.put("continuing_subword_prefix", "");
        model.put("end_of_word_suffix", "");
        model.put("fuse_unk", false);
        model.put("byte_fallback", false);
        ObjectNode vocab = model.putObject("vocab");
        tokenizer.vocab().entrySet().stream()
                .sorted(Map.Entry.comparingByValue(Comparator.naturalOrder()))
                .forEach(entry -> vocab.put(entry.getKey(), entry.getValue()));
        // "left right" strings: the older form, which every tokenizers version reads; byte-level tokens have no space.
        ArrayNode merges = model.putArray("merges");
        for (BpeTokenizer.Merge merge : tokenizer.merges()) {
            merges.add(merge.left() + " " + merge.right());
        }
        try {
            return JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(root);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void byteLevel(ObjectNode node, boolean addPrefixSpace, boolean trimOffsets) {
        node.put("type", "ByteLevel");
        node.put("add_prefix_space", addPrefixSpace);
        node.put("trim_offsets", trimOffsets);
        node.put("use_regex", true);
    }
}
