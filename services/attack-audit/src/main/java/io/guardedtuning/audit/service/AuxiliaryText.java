package io.guardedtuning.audit.service;

import io.guardedtuning.attack.PublicText;
import io.guardedtuning.data.PackageCache;
import io.guardedtuning.tokenizer.BpeTokenizer;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

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

    static String bundled() throws IOException {
        try (InputStream in = AuxiliaryText.class.getResourceAsStream(BUNDLED)) {
            if (in == null) {
                throw new IOException("bundled auxiliary text missing from the classpath: " + BUNDLED);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
