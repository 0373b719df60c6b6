package io.guardedtuning.tokenizer;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class Gpt2VocabularyTest {

    /** Text kinds where byte-level BPE implementations tend to disagree. */
    static final List<String> SAMPLES = List.of(
            "Hello world",
            "The quick brown fox jumps over the lazy dog. It was a bright cold day in April.",
            "",
            " ",
            "   ",
            "  leading spaces and trailing spaces   ",
            "many     spaces   between",
            "line one\nline two\n\nline four\n",
            "\ttab\t\tseparated\tvalues\t",
            "windows\r\nline endings\r\n",
            " \n \n  \t ",
            "0 1 12 123 1234 12345678901234567890 3.14159 1,000,000 -42 +7",
            "Hello!!! What??? (yes) [no] {maybe} <tag> ... --- ___ ~~~",
            "I'm you're we've they'll he'd it's she's DON'T I'M don't",
            "'s 's' ''s rock'n'roll",
            "naïve café résumé Ångström Zürich façade Øresund",
            "日本語のテキスト、中文字符。한국어 텍스트",
            "emoji 😀👍🏽 family 👨‍👩‍👧 flags 🇩🇪🇯🇵",
            "Ελληνικά Русский язык עברית العربية नमस्ते",
            "def square(x):\n    return x ** 2  # square it\n\nprint(square(3))\n",
            "for (int i = 0; i < n; i++) { sum += a[i]; }",
            "https://example.com/path/to/page?query=1&other=two#fragment",
            "user@example.org, ftp://files.example.net:21/pub",
            "non\u00a0breaking and\u3000ideographic\u2009thin spaces",
            "Ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３",
            "==================================================",
            "abc123def 4x4 v2.0.1 COVID-19",
            "\u0000control\u0001chars\u007f",
            "combining: e\u0301 a\u0308 n\u0303");

    private static final Encoding JTOKKIT = Encodings.newDefaultEncodingRegistry().getEncoding(EncodingType.R50K_BASE);

    @Test
    void helloWorldIsGpt2s() {
        assertArrayEquals(new int[] {15496, 995}, Gpt2Vocabulary.full().tokenizer().encode("Hello world"));
    }

    @Test
    void fullVocabularyHasGpt2sIds() {
        Gpt2Vocabulary gpt2 = Gpt2Vocabulary.full();
        BpeTokenizer tokenizer = gpt2.tokenizer();
        assertEquals(50_257, gpt2.vocabSize());
        assertEquals(50_000, tokenizer.merges().size());
        assertEquals(50_256, gpt2.eosTokenId());
        assertEquals(50_256, tokenizer.tokenId("<|endoftext|>").getAsInt());
        assertEquals(0, tokenizer.tokenId("!").getAsInt());
        // GPT-2's first merge lines in vocab.bpe are "Ġ t", "Ġ a", "h e".
        assertEquals(new BpeTokenizer.Merge("Ġ", "t"), tokenizer.merges().get(0));
        assertEquals(new BpeTokenizer.Merge("Ġ", "a"), tokenizer.merges().get(1));
        assertEquals(new BpeTokenizer.Merge("h", "e"), tokenizer.merges().get(2));
        assertEquals(256, tokenizer.tokenId("Ġt").getAsInt());
    }

    @Test
    void idsEqualJtokkitsAndDecodeRoundTrips() {
        BpeTokenizer tokenizer = Gpt2Vocabulary.full().tokenizer();
        for (String text : allSamples()) {
            int[] ids = tokenizer.encode(text);
            assertArrayEquals(JTOKKIT.encode(text).toArray(), ids, () -> "ids differ from jtokkit for: " + text);
            assertEquals(text, tokenizer.decode(ids));
        }
    }

    @Test
    void specialTokensInTextAreRecognised() {
        Gpt2Vocabulary gpt2 = Gpt2Vocabulary.full();
        BpeTokenizer tokenizer = gpt2.tokenizer();
        String text = "Hello world<|endoftext|>Bye";
        int[] ids = tokenizer.encode(text);
        int[] bye = JTOKKIT.encode("Bye").toArray();
        int[] expected = IntStream.concat(IntStream.of(15496, 995, 50256),
                Arrays.stream(bye)).toArray();
        assertArrayEquals(expected, ids);
        assertEquals(text, tokenizer.decode(ids));
        assertArrayEquals(JTOKKIT.encodeOrdinary(text).toArray(), tokenizer.encodeOrdinary(text));

        Gpt2Vocabulary small = Gpt2Vocabulary.truncated(1000);
        int[] smallIds = small.tokenizer().encode("</s>Hi there<pad><pad>");
        assertEquals(small.bosTokenId(), smallIds[0]);
        assertEquals(small.padTokenId(), smallIds[smallIds.length - 1]);
        assertEquals(small.padTokenId(), smallIds[smallIds.length - 2]);
        assertEquals("</s>Hi there<pad><pad>", small.tokenizer().decode(smallIds));
    }

    @Test
    void truncatedVocabulariesEncodeLosslesslyWithGpt2Tokens() {
        BpeTokenizer full = Gpt2Vocabulary.full().tokenizer();
        for (int numMerges : new int[] {0, 1000}) {
            Gpt2Vocabulary small = Gpt2Vocabulary.truncated(numMerges);
            BpeTokenizer tokenizer = small.tokenizer();
            assertEquals(256 + numMerges + 2, small.vocabSize());
            assertEquals(256 + numMerges, small.eosTokenId());
            assertEquals(256 + numMerges, small.bosTokenId());
            assertEquals(256 + numMerges + 1, small.padTokenId());
            for (String text : allSamples()) {
                int[] ids = tokenizer.encode(text);
                assertEquals(text, tokenizer.decode(ids));
                ByteArrayOutputStream viaGpt2 = new ByteArrayOutputStream();
                for (int id : ids) {
                    assertTrue(id < 256 + numMerges, () -> "id " + id + " outside the truncated vocab for: " + text);
                    // Same id, same bytes in GPT-2's full vocab: the tokens are GPT-2 tokens.
                    assertArrayEquals(full.bytesOf(id), tokenizer.bytesOf(id));
                    viaGpt2.writeBytes(full.bytesOf(id));
                }
                assertArrayEquals(text.getBytes(StandardCharsets.UTF_8), viaGpt2.toByteArray());
            }
        }
        assertTrue(Gpt2Vocabulary.truncated(1000).tokenizer().encode(SAMPLES.get(1)).length
                < Gpt2Vocabulary.truncated(0).tokenizer().encode(SAMPLES.get(1)).length);
    }

    @Test
    void tokenizerJsonRoundTripGivesSameIds(@TempDir Path directory) throws Exception {
        for (Gpt2Vocabulary vocabulary : List.of(Gpt2Vocabulary.full(), Gpt2Vocabulary.truncated(1000))) {
            BpeTokenizer original = vocabulary.tokenizer();
            Path file = directory.resolve("tokenizer.json");
            original.writeTokenizerJson(file);
            BpeTokenizer fromFile = BpeTokenizer.fromTokenizerJson(file);
            BpeTokenizer fromBytes = BpeTokenizer.fromTokenizerJson(
                    new ByteArrayInputStream(original.toTokenizerJson()), "in-memory tokenizer.json");
            assertEquals(original.vocabSize(), fromFile.vocabSize());
            assertEquals(original.addedTokens(), fromFile.addedTokens());
            for (String text : allSamples()) {
                String withSpecials = text + vocabulary.tokenizer().decode(vocabulary.eosTokenId());
                int[] expected = original.encode(withSpecials);
                assertArrayEquals(expected, fromFile.encode(withSpecials));
                assertArrayEquals(expected, fromBytes.encode(withSpecials));
            }
            try (var files = Files.list(directory)) {
                assertEquals(List.of(file), files.toList(), "no temporary file is left behind");
            }
        }
    }

    @Test
    void invalidUtf8DecodesToReplacementCharacters() {
        BpeTokenizer tokenizer = Gpt2Vocabulary.full().tokenizer();
        int[] ids = tokenizer.encode("😀");
        // Drop the last token of the emoji's 4 UTF-8 bytes.
        String decoded = tokenizer.decode(Arrays.copyOf(ids, ids.length - 1));
        assertTrue(decoded.contains("\uFFFD"), decoded);
    }

    @Test
    void encodeSpeed() {
        String corpus = syntheticCorpus(2_000_000);
        String warmUp = syntheticCorpus(200_000).replace('e', 'é');
        for (BpeTokenizer tokenizer : List.of(
                Gpt2Vocabulary.full().tokenizer(), Gpt2Vocabulary.truncated(1000).tokenizer())) {
            tokenizer.encode(warmUp);
            long start = System.nanoTime();
            int[] ids = tokenizer.encode(corpus);
            double seconds = (System.nanoTime() - start) / 1e9;
            System.out.printf("BpeTokenizer (%,d ids): %,d chars -> %,d tokens in %.3f s = %,.0f chars/s%n",
                    tokenizer.vocabSize(), corpus.length(), ids.length, seconds, corpus.length() / seconds);
            assertEquals(corpus, tokenizer.decode(ids));
        }
    }

    /** Prose-like text from a Zipf-ish word list with punctuation, numbers and line breaks. */
    static String syntheticCorpus(int length) {
        Random random = new Random(7);
        String[] words = ("the of and to in a is that for it as was with be by on not he I this are or his from at "
                + "which but have an they you were her she there been one all we their has would when if so no will "
                + "privacy split learning gradient embedding transformer attention Wikipedia encyclopedia history "
                + "government university population approximately distinguished characteristics Hawaiʻi naïve")
                .split(" ");
        StringBuilder text = new StringBuilder(length + 100);
        while (text.length() < length) {
            int index = (int) Math.min(words.length - 1, Math.abs(random.nextGaussian()) * words.length / 3);
            text.append(words[index]);
            int r = random.nextInt(100);
            text.append(r < 8 ? ", "
                    : r < 12 ? ". "
                    : r < 13 ? " " + random.nextInt(3000) + " "
                    : r < 14 ? "\n\n"
                    : " ");
        }
        return text.toString();
    }

    private static List<String> allSamples() {
        List<String> samples = new ArrayList<>(SAMPLES);
        samples.add(syntheticCorpus(20_000));
        samples.add("x".repeat(5000) + " " + "ab".repeat(3000));
        return samples;
    }
}
