package io.guardedtuning.tokenizer;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Loading hand-made files laid out like a facebook/opt-* directory, and the errors for broken ones. */
class BpeTokenizerFilesTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String[]> MERGES = List.of(
            new String[] {"Ġ", "t"}, new String[] {"h", "e"}, new String[] {"Ġt", "he"},
            new String[] {"l", "o"}, new String[] {"lo", "w"});

    @TempDir
    Path directory;

    /** OPT's layout: specials first, then byte tokens (here in GPT-2's byte order), then merged tokens. */
    private static Map<String, Integer> optLikeVocab() {
        Map<String, Integer> vocab = new LinkedHashMap<>();
        for (String special : List.of("<s>", "<pad>", "</s>", "<unk>")) {
            vocab.put(special, vocab.size());
        }
        for (int b : ByteLevel.BYTE_ORDER) {
            vocab.put(String.valueOf(ByteLevel.charOf(b)), vocab.size());
        }
        for (String[] merge : MERGES) {
            vocab.put(merge[0] + merge[1], vocab.size());
        }
        return vocab;
    }

    private void writeVocabAndMerges(Map<String, Integer> vocab, List<String> mergeLines) throws Exception {
        Files.write(directory.resolve("vocab.json"), JSON.writeValueAsBytes(vocab));
        Files.write(directory.resolve("merges.txt"), mergeLines, StandardCharsets.UTF_8);
    }

    private static List<String> mergeLines() {
        return MERGES.stream().map(merge -> merge[0] + " " + merge[1]).toList();
    }

    private BpeTokenizer loadVocabAndMerges() throws Exception {
        return BpeTokenizer.fromVocabAndMerges(directory.resolve("vocab.json"), directory.resolve("merges.txt"));
    }

    @Test
    void loadsOptLikeVocabAndMergesWithVersionHeader() throws Exception {
        Map<String, Integer> vocab = optLikeVocab();
        List<String> lines = new ArrayList<>(List.of("#version: 0.2"));
        lines.addAll(mergeLines());
        writeVocabAndMerges(vocab, lines);
        BpeTokenizer tokenizer = BpeTokenizer.fromDirectory(directory);

        assertEquals(5, tokenizer.merges().size());
        assertArrayEquals(new int[] {vocab.get("Ġthe"), vocab.get("Ġ"), vocab.get("low")},
                tokenizer.encode(" the low"));
        assertArrayEquals(new int[] {2, vocab.get("t"), vocab.get("he"), 1, 1}, tokenizer.encode("</s>the<pad><pad>"));
        assertEquals("</s>the<pad><pad>", tokenizer.decode(tokenizer.encode("</s>the<pad><pad>")));
        assertEquals(0, tokenizer.tokenId("<s>").getAsInt());
        assertEquals(3, tokenizer.tokenId("<unk>").getAsInt());
        assertEquals(vocab.size(), tokenizer.vocabSize());

        BpeTokenizer onlyEos = BpeTokenizer.fromVocabAndMerges(
                directory.resolve("vocab.json"), directory.resolve("merges.txt"), List.of("</s>"));
        assertEquals(2, onlyEos.encode("<pad></s>")[5]);
        assertEquals(1 + 5, onlyEos.encode("<pad></s>").length, "<pad> is plain text here");
    }

    @Test
    void tokenizerJsonWithPairMergesMatchesVocabAndMerges() throws Exception {
        Map<String, Integer> vocab = optLikeVocab();
        writeVocabAndMerges(vocab, mergeLines());
        BpeTokenizer fromVocabAndMerges = loadVocabAndMerges();

        ObjectNode root = tokenizerJson(vocab);
        Path file = directory.resolve("tokenizer.json");
        Files.write(file, JSON.writeValueAsBytes(root));
        BpeTokenizer fromJson = BpeTokenizer.fromDirectory(directory);
        Path rewritten = directory.resolve("rewritten/tokenizer.json");
        fromJson.writeTokenizerJson(rewritten);
        BpeTokenizer reloaded = BpeTokenizer.fromTokenizerJson(rewritten);

        for (String text : List.of(" the low", "</s>the<pad>", "lower the <s>heat<unk>", "")) {
            int[] expected = fromVocabAndMerges.encode(text);
            assertArrayEquals(expected, fromJson.encode(text), text);
            assertArrayEquals(expected, reloaded.encode(text), text);
        }
    }

    /** Shaped like a real OPT tokenizer.json, with the newer [left, right] merge form. */
    private static ObjectNode tokenizerJson(Map<String, Integer> vocab) {
        ObjectNode root = JSON.createObjectNode();
        root.put("version", "1.0");
        ArrayNode added = root.putArray("added_tokens");
        for (String special : List.of("<s>", "<pad>", "</s>", "<unk>")) {
            added.addObject().put("id", vocab.get(special)).put("content", special).put("special", true);
        }
        root.putNull("normalizer");
        root.putObject("pre_tokenizer").put("type", "ByteLevel").put("add_prefix_space", false)
                .put("trim_offsets", true).put("use_regex", true);
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE").putNull("dropout");
        ObjectNode vocabNode = model.putObject("vocab");
        vocab.forEach(vocabNode::put);
        ArrayNode merges = model.putArray("merges");
        MERGES.forEach(merge -> merges.addArray().add(merge[0]).add(merge[1]));
        return root;
    }

    private TokenizerFormatException brokenTokenizerJson(Consumer<ObjectNode> breakIt) throws Exception {
        ObjectNode root = tokenizerJson(optLikeVocab());
        breakIt.accept(root);
        Path file = directory.resolve("broken-tokenizer.json");
        Files.write(file, JSON.writeValueAsBytes(root));
        return assertThrows(TokenizerFormatException.class, () -> BpeTokenizer.fromTokenizerJson(file));
    }

    private static void assertMentions(Exception error, String... parts) {
        for (String part : parts) {
            assertTrue(error.getMessage().contains(part), () -> "'" + error.getMessage() + "' should mention " + part);
        }
    }

    @Test
    void malformedTokenizerJsonNamesFileAndField() throws Exception {
        assertMentions(brokenTokenizerJson(root -> ((ObjectNode) root.get("model")).remove("vocab")),
                "broken-tokenizer.json", "model.vocab");
        assertMentions(brokenTokenizerJson(root -> ((ObjectNode) root.get("model")).remove("merges")),
                "broken-tokenizer.json", "model.merges");
        assertMentions(brokenTokenizerJson(root -> root.remove("model")), "broken-tokenizer.json", "'model'");
        assertMentions(brokenTokenizerJson(root -> ((ObjectNode) root.get("model")).put("type", "WordPiece")),
                "model.type", "WordPiece");
        assertMentions(brokenTokenizerJson(root -> ((ObjectNode) root.get("model").get("vocab")).put("Ġt", "x")),
                "model.vocab", "Ġt");
        assertMentions(brokenTokenizerJson(root -> ((ArrayNode) root.get("model").get("merges")).add("a b c")),
                "model.merges[5]", "a b c");
        assertMentions(brokenTokenizerJson(
                        root -> ((ArrayNode) root.get("model").get("merges")).addArray().add("Ġ").add("zz")),
                "broken-tokenizer.json", "model.merges", "merge 5", "'zz' is not in");
        assertMentions(brokenTokenizerJson(root -> ((ObjectNode) root.get("model").get("vocab")).remove("Ġ")),
                "model.vocab", "byte token 'Ġ'", "0x20");
        assertMentions(brokenTokenizerJson(root -> ((ObjectNode) root.get("added_tokens").get(1)).put("id", 7)),
                "added_tokens", "<pad>");
        assertMentions(brokenTokenizerJson(root -> ((ObjectNode) root.get("added_tokens").get(0)).remove("id")),
                "added_tokens[0]", "'id'");
        assertMentions(brokenTokenizerJson(root -> ((ObjectNode) root.get("pre_tokenizer")).put("type", "Whitespace")),
                "pre_tokenizer");

        Path notJson = directory.resolve("tokenizer.json");
        Files.writeString(notJson, "{\"model\": ");
        assertMentions(assertThrows(TokenizerFormatException.class, () -> BpeTokenizer.fromTokenizerJson(notJson)),
                "tokenizer.json", "not valid JSON");
    }

    @Test
    void malformedVocabAndMergesNameFileAndField() throws Exception {
        Map<String, Integer> vocab = optLikeVocab();

        writeVocabAndMerges(vocab, List.of("#version: 0.2", "Ġ t", "h e", "he"));
        assertMentions(assertThrows(TokenizerFormatException.class, this::loadVocabAndMerges),
                "merges.txt", "line 4", "'he'");

        writeVocabAndMerges(vocab, List.of("Ġ t", "Ġt q"));
        assertMentions(assertThrows(TokenizerFormatException.class, this::loadVocabAndMerges),
                "merges.txt", "merge 1", "'Ġtq' is not in", "vocab.json");

        Map<String, Integer> badId = new LinkedHashMap<>(vocab);
        Files.write(directory.resolve("vocab.json"),
                JSON.writeValueAsString(badId).replace("\"low\":" + vocab.get("low"), "\"low\":\"seven\"")
                        .getBytes(StandardCharsets.UTF_8));
        assertMentions(assertThrows(TokenizerFormatException.class, this::loadVocabAndMerges),
                "vocab.json", "'low'", "seven");

        Map<String, Integer> duplicateId = new LinkedHashMap<>(vocab);
        duplicateId.put("low", 0);
        writeVocabAndMerges(duplicateId, mergeLines());
        assertMentions(assertThrows(TokenizerFormatException.class, this::loadVocabAndMerges),
                "vocab.json", "id 0", "'<s>'", "'low'");

        writeVocabAndMerges(vocab, mergeLines());
        assertMentions(assertThrows(TokenizerFormatException.class, () -> BpeTokenizer.fromVocabAndMerges(
                        directory.resolve("vocab.json"), directory.resolve("merges.txt"), List.of("<mask>"))),
                "vocab.json", "<mask>");
    }

    @Test
    void aDirectoryWithoutTokenizerFilesNamesTheMissingFile() throws Exception {
        String none = assertThrows(TokenizerFormatException.class, () -> BpeTokenizer.fromDirectory(directory))
                .getMessage();
        assertTrue(none.startsWith(directory.resolve("tokenizer.json") + ": no such file") && !none.contains("\n"),
                none);
        Files.writeString(directory.resolve("vocab.json"), "{}");
        String noMerges = assertThrows(TokenizerFormatException.class, () -> BpeTokenizer.fromDirectory(directory))
                .getMessage();
        assertTrue(noMerges.startsWith(directory.resolve("merges.txt") + ": no such file"), noMerges);
    }
}
