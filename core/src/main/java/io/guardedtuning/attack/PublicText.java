package io.guardedtuning.attack;

import io.guardedtuning.data.Corpus;
import io.guardedtuning.data.Document;
import io.guardedtuning.data.PackageCache;
import io.guardedtuning.tokenizer.BpeTokenizer;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;

/**
 * The attacker's public text as rows that start like the client's: the beginning-of-sequence token, then a run of
 * text, {@code rowTokens} long in all (the client's encoder caps its rows the same way, and most task rows reach the
 * cap). Each document is cut into consecutive rows; its last, shorter piece is kept when it holds at least
 * {@link #MIN_ROW_TOKENS} tokens, so the rows also cover short lengths.
 */
public final class PublicText {

    /** The shortest row kept (BOS included): shorter tails add little and skew nothing. */
    static final int MIN_ROW_TOKENS = 8;

    /**
     * The auditor's public text by default, and so the client's own leakage check's: the whole held-out split (938
     * rows of 256 tokens; the row bound is for memory only) in rows as long as the client's longest. A check on less
     * text, or on shorter rows than the client's, is weaker than the auditor: on 600 rows of 48 tokens it passed
     * batches the auditor's SIP rebuilt over budget (docs/results.md).
     */
    public static final int ATTACKER_MAX_ROWS = 4096;
    public static final int ATTACKER_ROW_TOKENS = 256;

    private PublicText() {
    }

    /**
     * @param rowTokens the client's row length (BOS included), e.g. its encoder's {@code maxTokens}
     * @param maxRows   a bound on memory and training time; rows beyond it are dropped (documents in order)
     */
    public static List<int[]> rows(List<String> texts, BpeTokenizer tokenizer, int bosTokenId, int rowTokens,
                                   int maxRows) {
        if (rowTokens < MIN_ROW_TOKENS || maxRows < 1) {
            throw new IllegalArgumentException("rows need at least " + MIN_ROW_TOKENS + " tokens and maxRows >= 1, got "
                    + rowTokens + " and " + maxRows);
        }
        List<int[]> out = new ArrayList<>();
        int body = rowTokens - 1;
        for (String text : texts) {
            int[] ids = tokenizer.encodeOrdinary(text);
            for (int from = 0; from < ids.length && out.size() < maxRows; from += body) {
                int to = Math.min(ids.length, from + body);
                if (to - from + 1 < MIN_ROW_TOKENS) {
                    break;
                }
                int[] row = new int[to - from + 1];
                row[0] = bosTokenId;
                System.arraycopy(ids, from, row, 1, to - from);
                out.add(row);
            }
        }
        return out;
    }

    /**
     * Rows ({@link #rows}) of the pretraining corpus's held-out documents, which no task uses: the public text of
     * the auditor and of the client's own defences.
     *
     * @throws IOException when the package cache holds no held-out text
     */
    public static List<int[]> heldOut(PackageCache cache, BpeTokenizer tokenizer, int bosTokenId, int maxRows,
                                      int rowTokens) throws IOException {
        List<int[]> out = rows(Corpus.load(cache).heldOut().stream().map(Document::text).toList(), tokenizer,
                bosTokenId, rowTokens, maxRows);
        if (out.isEmpty()) {
            throw new IOException("no held-out corpus text in the package cache");
        }
        return out;
    }

    /** Row length of a privacy warm-up's public text (BOS included). */
    public static final int WARMUP_ROW_TOKENS = 48;

    /**
     * The public text of a privacy warm-up that announces {@code rows}: that many held-out rows of
     * {@link #WARMUP_ROW_TOKENS}, in {@link #halves}. The warm-up trains on the first half and the client calibrates
     * its noise on the second; a provider replaying the announced recipe computes the same rows.
     */
    public static List<List<int[]>> warmupHalves(PackageCache cache, BpeTokenizer tokenizer, int bosTokenId,
                                                 int rows) throws IOException {
        return halves(heldOut(cache, tokenizer, bosTokenId, rows, WARMUP_ROW_TOKENS));
    }

    /** Every other row to the first list, the rest to the second: disjoint public text for two parties. */
    public static List<List<int[]>> halves(List<int[]> rows) {
        List<int[]> a = new ArrayList<>();
        List<int[]> b = new ArrayList<>();
        for (int i = 0; i < rows.size(); i++) {
            (i % 2 == 0 ? a : b).add(rows.get(i));
        }
        return List.of(a, b);
    }

    /** The token ids that occur in the rows: what an inverter trained on them can ever output. */
    public static BitSet vocabulary(List<int[]> rows) {
        BitSet out = new BitSet();
        rows.forEach(r -> Arrays.stream(r).forEach(out::set));
        return out;
    }
}
