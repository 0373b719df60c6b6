package io.guardedtuning.tokenizer;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * GPT-2's byte-level BPE vocabulary, built from jtokkit's {@code r50k_base.tiktoken} (ranks there are GPT-2's ids),
 * either whole or cut down to its first merges for a small model of our own.
 *
 * @param tokenizer  the tokenizer over this vocabulary
 * @param padTokenId id to pad with
 * @param bosTokenId id a sequence starts with (OPT puts it in front of every prompt)
 * @param eosTokenId id that ends a sequence
 */
public record Gpt2Vocabulary(BpeTokenizer tokenizer, int padTokenId, int bosTokenId, int eosTokenId) {

    /** GPT-2's 50,000 merges; its end-of-text token comes right after them. */
    public static final int FULL_MERGE_COUNT = 50_000;
    public static final String END_OF_TEXT = "<|endoftext|>";
    public static final String OPT_EOS = "</s>";
    public static final String OPT_PAD = "<pad>";

    private static final String TIKTOKEN_RESOURCE = "/com/knuddels/jtokkit/r50k_base.tiktoken";

    /**
     * GPT-2 as released: 50,257 ids, {@code <|endoftext|>} = 50256. GPT-2 has no padding token, so it is used for
     * padding, start and end alike, as Hugging Face's GPT-2 config does.
     */
    public static Gpt2Vocabulary full() {
        Gpt2Tables tables = Gpt2Tables.INSTANCE;
        int endOfText = 256 + FULL_MERGE_COUNT;
        Map<String, Integer> vocab = new HashMap<>(tables.vocab());
        vocab.put(END_OF_TEXT, endOfText);
        BpeTokenizer tokenizer = build(vocab, tables.merges(),
                List.of(new BpeTokenizer.AddedToken(END_OF_TEXT, endOfText, true)));
        return new Gpt2Vocabulary(tokenizer, endOfText, endOfText, endOfText);
    }

    /**
     * The 256 byte tokens and GPT-2's first {@code numMerges} merges, with GPT-2's ids (a closed set: every merge's
     * parts come earlier), then OPT's special tokens for a model of our own: {@code </s>} = 256 + numMerges as start
     * and end, {@code <pad>} = 256 + numMerges + 1. Any text still encodes losslessly, in more tokens.
     */
    public static Gpt2Vocabulary truncated(int numMerges) {
        if (numMerges < 0 || numMerges > FULL_MERGE_COUNT) {
            throw new IllegalArgumentException("numMerges must be in 0.." + FULL_MERGE_COUNT + ", got " + numMerges);
        }
        Gpt2Tables tables = Gpt2Tables.INSTANCE;
        int eos = 256 + numMerges;
        int pad = eos + 1;
        Map<String, Integer> vocab = new HashMap<>();
        tables.vocab().forEach((token, id) -> {
            if (id < eos) {
                vocab.put(token, id);
            }
        });
        vocab.put(OPT_EOS, eos);
        vocab.put(OPT_PAD, pad);
        BpeTokenizer tokenizer = build(vocab, tables.merges().subList(0, numMerges), List.of(
                new BpeTokenizer.AddedToken(OPT_EOS, eos, true),
                new BpeTokenizer.AddedToken(OPT_PAD, pad, true)));
        return new Gpt2Vocabulary(tokenizer, pad, eos, eos);
    }

    /** Embedding rows a model needs for this vocabulary. */
    public int vocabSize() {
        return tokenizer.vocabSize();
    }

    private static BpeTokenizer build(Map<String, Integer> vocab, List<BpeTokenizer.Merge> merges,
                                      List<BpeTokenizer.AddedToken> addedTokens) {
        try {
            return new BpeTokenizer(vocab, merges, addedTokens, new BpeTokenizer.Origin(
                    "GPT-2 vocab", "GPT-2 merges", "GPT-2 special tokens"));
        } catch (TokenizerFormatException e) {
            throw new IllegalStateException("GPT-2 tables derived from " + TIKTOKEN_RESOURCE + " are inconsistent", e);
        }
    }

    /** GPT-2's vocab (without specials) and merges, derived once from the tiktoken ranks. */
    private record Gpt2Tables(Map<String, Integer> vocab, List<BpeTokenizer.Merge> merges) {

        static final Gpt2Tables INSTANCE = load();

        /**
         * tiktoken stores only ranked byte strings. The merge that creates rank r is the pair of tokens that BPE with
         * the merges below r leaves for r's bytes; for GPT-2 that is always exactly two tokens, and the merge's
         * position r - 256 then gives id r, as in GPT-2's own files.
         */
        private static Gpt2Tables load() {
            List<byte[]> tokens = readRanks();
            int[] byteIds = new int[256];
            Map<String, Integer> vocab = new HashMap<>();
            List<BpeTokenizer.Merge> merges = new ArrayList<>(FULL_MERGE_COUNT);
            MergeTable table = new MergeTable();
            for (int rank = 0; rank < tokens.size(); rank++) {
                byte[] bytes = tokens.get(rank);
                String token = ByteLevel.encode(bytes);
                vocab.put(token, rank);
                if (rank < 256) {
                    if (bytes.length != 1 || (bytes[0] & 0xFF) != ByteLevel.BYTE_ORDER[rank]) {
                        throw new IllegalStateException("rank " + rank + " is not GPT-2's byte token " + rank);
                    }
                    byteIds[bytes[0] & 0xFF] = rank;
                    continue;
                }
                int[] symbols = new int[bytes.length];
                for (int i = 0; i < bytes.length; i++) {
                    symbols[i] = byteIds[bytes[i] & 0xFF];
                }
                int[] parts = table.apply(symbols);
                if (parts.length != 2) {
                    throw new IllegalStateException("rank " + rank + " ('" + token + "') does not come from one merge");
                }
                table.add(parts[0], parts[1], rank);
                merges.add(new BpeTokenizer.Merge(
                        ByteLevel.encode(tokens.get(parts[0])), ByteLevel.encode(tokens.get(parts[1]))));
            }
            if (merges.size() != FULL_MERGE_COUNT) {
                throw new IllegalStateException(TIKTOKEN_RESOURCE + " has " + merges.size() + " merges, expected "
                        + FULL_MERGE_COUNT);
            }
            return new Gpt2Tables(Map.copyOf(vocab), List.copyOf(merges));
        }

        /** The token bytes in rank order; ranks must run 0, 1, 2, ... without gaps. */
        private static List<byte[]> readRanks() {
            InputStream in = Gpt2Vocabulary.class.getResourceAsStream(TIKTOKEN_RESOURCE);
            if (in == null) {
                throw new IllegalStateException("classpath resource " + TIKTOKEN_RESOURCE + " (jtokkit) is missing");
            }
            List<byte[]> tokens = new ArrayList<>(256 + FULL_MERGE_COUNT);
            try (BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.US_ASCII))) {
                String line;
                while ((line = reader.readLine()) != null) {
                    if (line.isEmpty()) {
                        continue;
                    }
                    int space = line.indexOf(' ');
                    int rank = Integer.parseInt(line.substring(space + 1));
                    if (rank != tokens.size()) {
                        throw new IllegalStateException(TIKTOKEN_RESOURCE + ": expected rank " + tokens.size()
                                + ", got " + rank);
                    }
                    tokens.add(Base64.getDecoder().decode(line.substring(0, space)));
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return tokens;
        }
    }
}
