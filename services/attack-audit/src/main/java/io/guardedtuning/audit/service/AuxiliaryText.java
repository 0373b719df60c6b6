package io.guardedtuning.audit.service;

import io.guardedtuning.attack.PublicText;
import io.guardedtuning.data.PackageCache;
import io.guardedtuning.privacy.PrivacyWarmup;
import io.guardedtuning.tokenizer.BpeTokenizer;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * The public text the attacker trains its inverters and shadow adapters on: by default the <em>whole</em> held-out
 * split of the pretraining corpus (no download: the package cache), else a small text bundled with this service.
 * Cut into rows that start like the client's ({@link PublicText}: BOS first, the client's row length), capped only
 * to bound memory.
 */
public final class AuxiliaryText {

    static final String BUNDLED = "/auxiliary/public-text.txt";

    private AuxiliaryText() {
    }

    public static List<int[]> load(boolean fromCorpus, int maxSequences, int sequenceTokens, int bosTokenId,
                                   BpeTokenizer tokenizer) throws IOException {
        return fromCorpus
                ? PublicText.heldOut(new PackageCache(), tokenizer, bosTokenId, maxSequences, sequenceTokens)
                : PublicText.rows(List.of(bundled()), tokenizer, bosTokenId, sequenceTokens, maxSequences);
    }

    /**
     * The text an announced privacy warm-up trains on, cut from the held-out corpus as the client cuts it (the rows
     * the recipe announces, their first half), each distinct row count loaded once.
     */
    public static Function<PrivacyWarmup.Recipe, List<int[]>> warmupText(BpeTokenizer tokenizer, int bosTokenId) {
        Map<Integer, List<int[]>> loaded = new ConcurrentHashMap<>();
        return recipe -> loaded.computeIfAbsent(recipe.publicRows(), rows -> {
            try {
                return PublicText.warmupHalves(new PackageCache(), tokenizer, bosTokenId, rows).get(0);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
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
