package io.guardedtuning.tokenizer;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * GPT-2 byte-level BPE, as Hugging Face's {@code tokenizers} runs it for GPT-2 and OPT: added tokens are cut out of
 * the text first, the rest is split by GPT-2's regex, each piece's UTF-8 bytes become byte tokens, and merges apply
 * lowest rank first. No special tokens are added around the text (OPT's {@code </s>} in front is the caller's job).
 * Immutable apart from an internal cache, and safe for concurrent use.
 */
public final class BpeTokenizer {

    /**
     * GPT-2's pre-tokenizer regex. With UNICODE_CHARACTER_CLASS, {@code \s} is Unicode white space, as in Python's
     * {@code regex} module that GPT-2 and tiktoken use.
     */
    private static final Pattern PRE_TOKENIZER = Pattern.compile(
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+",
            Pattern.UNICODE_CHARACTER_CLASS);

    /** Words longer than this are rare and would bloat the cache. */
    private static final int MAX_CACHED_WORD_LENGTH = 64;
    /** The cache is dropped when it grows past this; a corpus's common words refill it quickly. */
    private static final int MAX_CACHE_ENTRIES = 500_000;

    /** One merge rule of {@code merges.txt}: the two token strings that merge into their concatenation. */
    public record Merge(String left, String right) {
    }

    /** Where the vocab, the merges and the added tokens were read from (file and field), to name them in errors. */
    record Origin(String vocab, String merges, String addedTokens) {
    }

    /** A string matched whole in the input before BPE, with its own id (HF's "added token"). */
    public record AddedToken(String content, int id, boolean special) {
    }

    private final Map<String, Integer> vocab;
    private final List<Merge> merges;
    private final List<AddedToken> addedTokens;
    private final Map<String, Integer> addedTokenIds;
    private final Pattern addedTokenPattern;
    private final MergeTable mergeTable = new MergeTable();
    private final int[] byteTokenIds = new int[256];
    /** Bytes of each id; null where no token has that id. */
    private final byte[][] tokenBytes;
    private final Map<String, int[]> wordCache = new ConcurrentHashMap<>();

    /**
     * @param vocab       token string (byte-level characters) to id; must contain all 256 byte tokens
     * @param merges      merge rules in rank order; both parts and their concatenation must be in {@code vocab}
     * @param addedTokens strings matched whole before BPE; may also appear in {@code vocab}, with the same id
     * @param origin      where each part came from, for error messages
     */
    BpeTokenizer(Map<String, Integer> vocab, List<Merge> merges, List<AddedToken> addedTokens, Origin origin)
            throws TokenizerFormatException {
        this.vocab = Map.copyOf(vocab);
        this.merges = List.copyOf(merges);
        this.addedTokens = List.copyOf(addedTokens);

        int maxId = -1;
        Map<Integer, String> tokenById = new HashMap<>();
        for (Map.Entry<String, Integer> entry : vocab.entrySet()) {
            int id = entry.getValue();
            if (id < 0) {
                throw new TokenizerFormatException(origin.vocab(), "id of '" + entry.getKey() + "' is negative: " + id);
            }
            String other = tokenById.put(id, entry.getKey());
            if (other != null) {
                throw new TokenizerFormatException(origin.vocab(),
                        "gives id " + id + " to both '" + other + "' and '" + entry.getKey() + "'");
            }
            maxId = Math.max(maxId, id);
        }
        for (int b = 0; b < 256; b++) {
            Integer id = vocab.get(String.valueOf(ByteLevel.charOf(b)));
            if (id == null) {
                throw new TokenizerFormatException(origin.vocab(), String.format(
                        "lacks the byte token '%c' for byte 0x%02X", ByteLevel.charOf(b), b));
            }
            byteTokenIds[b] = id;
        }
        for (int rank = 0; rank < merges.size(); rank++) {
            Merge merge = merges.get(rank);
            Integer left = vocab.get(merge.left());
            Integer right = vocab.get(merge.right());
            Integer merged = vocab.get(merge.left() + merge.right());
            if (left == null || right == null || merged == null) {
                String missing = left == null ? merge.left()
                        : right == null ? merge.right()
                        : merge.left() + merge.right();
                throw new TokenizerFormatException(origin.merges(), "merge " + rank + " '" + merge.left() + " "
                        + merge.right() + "': token '" + missing + "' is not in " + origin.vocab());
            }
            mergeTable.add(left, right, merged);
        }

        Map<String, Integer> added = new LinkedHashMap<>();
        for (AddedToken token : addedTokens) {
            if (token.content().isEmpty() || token.id() < 0) {
                throw new TokenizerFormatException(origin.addedTokens(),
                        "added token '" + token.content() + "' needs non-empty content and an id >= 0");
            }
            String holder = tokenById.get(token.id());
            if (holder != null && !holder.equals(token.content())) {
                throw new TokenizerFormatException(origin.addedTokens(), "added token '" + token.content()
                        + "' has id " + token.id() + ", which " + origin.vocab() + " gives to '" + holder + "'");
            }
            Integer vocabId = vocab.get(token.content());
            if (vocabId != null && vocabId != token.id()) {
                throw new TokenizerFormatException(origin.addedTokens(), "added token '" + token.content()
                        + "' has id " + token.id() + " but " + origin.vocab() + " gives it id " + vocabId);
            }
            if (added.put(token.content(), token.id()) != null) {
                throw new TokenizerFormatException(origin.addedTokens(),
                        "added token '" + token.content() + "' is listed twice");
            }
            maxId = Math.max(maxId, token.id());
        }
        this.addedTokenIds = Map.copyOf(added);
        // Longest first, so that a token that contains another one wins where both match.
        this.addedTokenPattern = added.isEmpty() ? null : Pattern.compile(added.keySet().stream()
                .sorted(Comparator.comparingInt(String::length).reversed())
                .map(Pattern::quote)
                .collect(Collectors.joining("|")));

        tokenBytes = new byte[maxId + 1][];
        tokenById.forEach((id, token) -> tokenBytes[id] = ByteLevel.decode(token));
        // An added token stands for its text, even where its characters look like byte-level ones.
        added.forEach((content, id) -> tokenBytes[id] = content.getBytes(StandardCharsets.UTF_8));
    }

    /** Reads a Hugging Face {@code tokenizer.json} (model type BPE with a ByteLevel pre-tokenizer). */
    public static BpeTokenizer fromTokenizerJson(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return TokenizerFiles.readTokenizerJson(in, file.toString());
        }
    }

    /** As {@link #fromTokenizerJson(Path)}, from a stream (e.g. a classpath resource); errors name it sourceName. */
    public static BpeTokenizer fromTokenizerJson(InputStream in, String sourceName) throws IOException {
        return TokenizerFiles.readTokenizerJson(in, sourceName);
    }

    /**
     * Reads GPT-2-style {@code vocab.json} and {@code merges.txt}. Those files do not say which tokens are special, so
     * the usual ones ({@code <s> </s> <pad> <unk> <mask> <|endoftext|>}) become added tokens where the vocab has them.
     */
    public static BpeTokenizer fromVocabAndMerges(Path vocabJson, Path mergesTxt) throws IOException {
        return TokenizerFiles.readVocabAndMerges(vocabJson, mergesTxt, TokenizerFiles.USUAL_SPECIAL_TOKENS, false);
    }

    /** As {@link #fromVocabAndMerges(Path, Path)}, with these special tokens, each of which must be in the vocab. */
    public static BpeTokenizer fromVocabAndMerges(Path vocabJson, Path mergesTxt, Collection<String> specialTokens)
            throws IOException {
        return TokenizerFiles.readVocabAndMerges(vocabJson, mergesTxt, List.copyOf(specialTokens), true);
    }

    /**
     * Reads a Hugging Face model directory: {@code tokenizer.json} if present, otherwise {@code vocab.json} and
     * {@code merges.txt}; a directory with neither is refused naming the file that is missing.
     */
    public static BpeTokenizer fromDirectory(Path directory) throws IOException {
        Path tokenizerJson = directory.resolve("tokenizer.json");
        if (Files.isRegularFile(tokenizerJson)) {
            return fromTokenizerJson(tokenizerJson);
        }
        Path vocabJson = directory.resolve("vocab.json");
        Path mergesTxt = directory.resolve("merges.txt");
        if (!Files.isRegularFile(vocabJson) || !Files.isRegularFile(mergesTxt)) {
            Path missing = Files.isRegularFile(vocabJson) ? mergesTxt : Files.isRegularFile(mergesTxt) ? vocabJson
                    : tokenizerJson;
            throw new TokenizerFormatException(missing.toString(), "no such file: the model directory needs "
                    + "tokenizer.json, or vocab.json with merges.txt");
        }
        return fromVocabAndMerges(vocabJson, mergesTxt);
    }

    /** Token ids of {@code text}; added tokens in the text (e.g. {@code </s>}) become their own ids. */
    public int[] encode(String text) {
        IntBuffer ids = new IntBuffer(text.length() / 3 + 8);
        if (addedTokenPattern == null) {
            encodeOrdinary(text, 0, text.length(), ids);
            return ids.toArray();
        }
        Matcher matcher = addedTokenPattern.matcher(text);
        int start = 0;
        while (matcher.find()) {
            encodeOrdinary(text, start, matcher.start(), ids);
            ids.add(addedTokenIds.get(matcher.group()));
            start = matcher.end();
        }
        encodeOrdinary(text, start, text.length(), ids);
        return ids.toArray();
    }

    /** Token ids of {@code text} read as plain text: an added token's string is encoded like any other text. */
    public int[] encodeOrdinary(String text) {
        IntBuffer ids = new IntBuffer(text.length() / 3 + 8);
        encodeOrdinary(text, 0, text.length(), ids);
        return ids.toArray();
    }

    private void encodeOrdinary(String text, int start, int end, IntBuffer ids) {
        if (start == end) {
            return;
        }
        Matcher matcher = PRE_TOKENIZER.matcher(text).region(start, end);
        while (matcher.find()) {
            ids.addAll(encodeWord(matcher.group()));
        }
    }

    private int[] encodeWord(String word) {
        int[] cached = wordCache.get(word);
        if (cached != null) {
            return cached;
        }
        byte[] bytes = word.getBytes(StandardCharsets.UTF_8);
        int[] symbols = new int[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            symbols[i] = byteTokenIds[bytes[i] & 0xFF];
        }
        int[] merged = mergeTable.apply(symbols);
        if (word.length() <= MAX_CACHED_WORD_LENGTH) {
            if (wordCache.size() >= MAX_CACHE_ENTRIES) {
                wordCache.clear();
            }
            wordCache.put(word, merged);
        }
        return merged;
    }

    /** The bytes the ids stand for. */
    public byte[] decodeBytes(int... ids) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(ids.length * 4);
        for (int id : ids) {
            out.writeBytes(bytesOf(id));
        }
        return out.toByteArray();
    }

    /** The text the ids stand for; byte sequences that are not valid UTF-8 become U+FFFD. */
    public String decode(int... ids) {
        return new String(decodeBytes(ids), StandardCharsets.UTF_8);
    }

    /** The bytes of one token, e.g. to check that a tokenization concatenates to its input. */
    public byte[] bytesOf(int id) {
        byte[] bytes = id >= 0 && id < tokenBytes.length ? tokenBytes[id] : null;
        if (bytes == null) {
            throw new IllegalArgumentException("no token has id " + id);
        }
        return bytes.clone();
    }

    /** The id of a vocab token string (byte-level characters, e.g. "Ġworld") or of an added token. */
    public OptionalInt tokenId(String token) {
        Integer id = addedTokenIds.get(token);
        if (id == null) {
            id = vocab.get(token);
        }
        return id == null ? OptionalInt.empty() : OptionalInt.of(id);
    }

    /** One more than the largest id, i.e. the embedding rows a model needs. */
    public int vocabSize() {
        return tokenBytes.length;
    }

    public Map<String, Integer> vocab() {
        return vocab;
    }

    public List<Merge> merges() {
        return merges;
    }

    public List<AddedToken> addedTokens() {
        return addedTokens;
    }

    /** This tokenizer as a Hugging Face {@code tokenizer.json} that {@code tokenizers} (and DJL) can load. */
    public byte[] toTokenizerJson() {
        return TokenizerFiles.writeTokenizerJson(this);
    }

    /** Writes {@link #toTokenizerJson()} to {@code file} atomically (a temporary file, then a rename). */
    public void writeTokenizerJson(Path file) throws IOException {
        Path directory = file.toAbsolutePath().getParent();
        Files.createDirectories(directory);
        // A sibling name, so the rename stays on one file system; not createTempFile, whose 0600 mode would stick.
        Path temporary = directory.resolve(file.getFileName() + "." + UUID.randomUUID() + ".tmp");
        try {
            Files.write(temporary, toTokenizerJson(), StandardOpenOption.CREATE_NEW);
            Files.move(temporary, file, StandardCopyOption.REPLACE_EXISTING,
                    StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(temporary);
        }
    }

    /** A growable int array, to avoid boxing every id. */
    private static final class IntBuffer {
        private int[] values;
        private int size;

        IntBuffer(int capacity) {
            values = new int[capacity];
        }

        void add(int value) {
            if (size == values.length) {
                values = Arrays.copyOf(values, size * 2);
            }
            values[size++] = value;
        }

        void addAll(int[] more) {
            if (size + more.length > values.length) {
                values = Arrays.copyOf(values, Math.max(size * 2, size + more.length));
            }
            System.arraycopy(more, 0, values, size, more.length);
            size += more.length;
        }

        int[] toArray() {
            return Arrays.copyOf(values, size);
        }
    }
}
