package io.guardedtuning.privacy;

import io.guardedtuning.data.Corpus;
import io.guardedtuning.data.Document;
import io.guardedtuning.data.PackageCache;
import io.guardedtuning.tokenizer.BpeTokenizer;

import java.io.IOException;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;

/**
 * Public text for the client's defences (the warm-up and its own leakage check): the held-out documents of the
 * pretraining corpus, which no task uses, cut into rows that start with BOS as every client row does.
 */
public final class PublicText {

    private PublicText() {
    }

    /** Up to {@code maxSequences} rows of {@code tokens} ids (BOS included) from the held-out corpus documents. */
    public static List<int[]> heldOut(PackageCache cache, BpeTokenizer tokenizer, int bos, int maxSequences,
                                      int tokens) throws IOException {
        List<int[]> out = new ArrayList<>();
        for (Document d : Corpus.load(cache, EnumSet.allOf(Corpus.Source.class), Corpus.UNLIMITED).heldOut()) {
            int[] ids = tokenizer.encodeOrdinary(d.text());
            for (int from = 0; from + tokens - 1 <= ids.length && out.size() < maxSequences; from += tokens - 1) {
                int[] row = new int[tokens];
                row[0] = bos;
                System.arraycopy(ids, from, row, 1, tokens - 1);
                out.add(row);
            }
            if (out.size() >= maxSequences) {
                break;
            }
        }
        if (out.isEmpty()) {
            throw new IOException("no held-out corpus text for the client's defences");
        }
        return out;
    }

    /** Every other row to {@code a}, the rest to {@code b}: disjoint public text for two parties. */
    public static List<List<int[]>> halves(List<int[]> rows) {
        List<int[]> a = new ArrayList<>();
        List<int[]> b = new ArrayList<>();
        for (int i = 0; i < rows.size(); i++) {
            (i % 2 == 0 ? a : b).add(rows.get(i));
        }
        return List.of(a, b);
    }
}
