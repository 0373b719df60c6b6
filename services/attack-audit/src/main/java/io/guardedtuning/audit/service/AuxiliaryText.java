package io.guardedtuning.audit.service;

import io.guardedtuning.data.Corpus;
import io.guardedtuning.data.Document;
import io.guardedtuning.data.PackageCache;
import io.guardedtuning.tokenizer.BpeTokenizer;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;

/**
 * The public text the attacker trains SIP on: the held-out documents of the pretraining corpus, or a small text
 * bundled with this service (no download). Tokenised and cut into fixed-length sequences, capped so that SIP's
 * one-off training stays short on a small CPU.
 */
public final class AuxiliaryText {

    static final String BUNDLED = "/auxiliary/public-text.txt";
    /** Held-out documents get this share of the corpus cap, so the cap is scaled up to leave them enough text. */
    private static final long CHARS_PER_TOKEN = 5;

    private AuxiliaryText() {
    }

    public static List<int[]> load(boolean fromCorpus, int maxSequences, int sequenceTokens, BpeTokenizer tokenizer)
            throws IOException {
        List<String> texts = new ArrayList<>();
        if (fromCorpus) {
            long heldOutChars = (long) maxSequences * sequenceTokens * CHARS_PER_TOKEN;
            Corpus corpus = Corpus.load(new PackageCache(), EnumSet.allOf(Corpus.Source.class),
                    heldOutChars * 100 / Corpus.HELD_OUT_PERCENT);
            corpus.heldOut().stream().map(Document::text).forEach(texts::add);
        } else {
            texts.add(bundled());
        }
        return sequences(texts, maxSequences, sequenceTokens, tokenizer);
    }

    static List<int[]> sequences(List<String> texts, int maxSequences, int sequenceTokens, BpeTokenizer tokenizer) {
        List<int[]> out = new ArrayList<>();
        for (String text : texts) {
            int[] ids = tokenizer.encodeOrdinary(text);
            for (int from = 0; from + sequenceTokens <= ids.length && out.size() < maxSequences;
                 from += sequenceTokens) {
                out.add(Arrays.copyOfRange(ids, from, from + sequenceTokens));
            }
        }
        return out;
    }

    static String bundled() throws IOException {
        try (InputStream in = AuxiliaryText.class.getResourceAsStream(BUNDLED)) {
            if (in == null) {
                throw new IOException("bundled auxiliary text missing from the classpath: " + BUNDLED);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
