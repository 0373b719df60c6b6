package io.guardedtuning.metrics;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * How much of the client's text a reconstruction recovers, scored on token ids (callers pass non-pad tokens only):
 * each score is computed per sample, then averaged over samples. A sample with an empty hypothesis or reference
 * scores 0.
 */
public final class TextLeakage {

    /** METEOR's weights as in NLTK: recall-heavy mean, fragmentation penalty γ·(chunks/m)^β. */
    private static final double METEOR_ALPHA = 0.9;
    private static final double METEOR_BETA = 3.0;
    private static final double METEOR_GAMMA = 0.5;

    /** Means over samples; {@code meteorExact} is METEOR with exact matches only (no stems or synonyms). */
    public record Scores(double rougeL, double tokenSetF1, double meteorExact, int samples) {
        @Override
        public String toString() {
            return String.format("ROUGE-L F1 %.3f, token-set F1 %.3f, METEOR (exact) %.3f over %d samples",
                    rougeL, tokenSetF1, meteorExact, samples);
        }
    }

    private TextLeakage() {
    }

    /**
     * Scores each reference against the hypothesis at the same index; a missing hypothesis (the attack returned
     * fewer sequences) scores 0.
     */
    public static Scores score(List<int[]> hypotheses, List<int[]> references) {
        if (references.isEmpty()) {
            return new Scores(0, 0, 0, 0);
        }
        double rouge = 0;
        double set = 0;
        double meteor = 0;
        for (int i = 0; i < references.size(); i++) {
            int[] ref = references.get(i);
            int[] hyp = i < hypotheses.size() ? hypotheses.get(i) : new int[0];
            rouge += rougeLF1(hyp, ref);
            set += tokenSetF1(hyp, ref);
            meteor += meteorExact(hyp, ref);
        }
        int n = references.size();
        return new Scores(rouge / n, set / n, meteor / n, n);
    }

    /** The first {@code lengths[i]} ids of each sequence: drops right padding. */
    public static List<int[]> trim(List<int[]> sequences, long[] lengths) {
        List<int[]> out = new ArrayList<>();
        for (int i = 0; i < sequences.size(); i++) {
            int[] s = sequences.get(i);
            out.add(java.util.Arrays.copyOf(s, (int) Math.min(s.length, lengths[i])));
        }
        return out;
    }

    /** ROUGE-L F1 from the longest common subsequence: P = LCS/|h|, R = LCS/|r|. */
    public static double rougeLF1(int[] hypothesis, int[] reference) {
        int lcs = longestCommonSubsequence(hypothesis, reference);
        return lcs == 0 ? 0 : f1((double) lcs / hypothesis.length, (double) lcs / reference.length);
    }

    /** F1 of the distinct-token sets (SplitLLM's "TokACC"; not positional accuracy). */
    public static double tokenSetF1(int[] hypothesis, int[] reference) {
        Set<Integer> h = distinct(hypothesis);
        Set<Integer> r = distinct(reference);
        Set<Integer> common = new HashSet<>(h);
        common.retainAll(r);
        return common.isEmpty() ? 0 : f1((double) common.size() / h.size(), (double) common.size() / r.size());
    }

    /**
     * METEOR (exact): unigram matches aligned as NLTK aligns them (walking the hypothesis from its end, each token
     * takes the last unused equal reference token), then {@code Fmean·(1 − γ(chunks/m)^β)} with
     * {@code Fmean = PR/(αP + (1−α)R)}. A chunk is a run of matches adjacent in both sequences.
     */
    public static double meteorExact(int[] hypothesis, int[] reference) {
        int[] matchOf = new int[hypothesis.length];
        java.util.Arrays.fill(matchOf, -1);
        boolean[] used = new boolean[reference.length];
        int matches = 0;
        for (int i = hypothesis.length - 1; i >= 0; i--) {
            for (int j = reference.length - 1; j >= 0; j--) {
                if (!used[j] && reference[j] == hypothesis[i]) {
                    used[j] = true;
                    matchOf[i] = j;
                    matches++;
                    break;
                }
            }
        }
        if (matches == 0) {
            return 0;
        }
        int chunks = 0;
        int previous = -2;
        int previousHyp = -2;
        for (int i = 0; i < hypothesis.length; i++) {
            if (matchOf[i] < 0) {
                continue;
            }
            if (i != previousHyp + 1 || matchOf[i] != previous + 1) {
                chunks++;
            }
            previous = matchOf[i];
            previousHyp = i;
        }
        double p = (double) matches / hypothesis.length;
        double r = (double) matches / reference.length;
        double fmean = p * r / (METEOR_ALPHA * p + (1 - METEOR_ALPHA) * r);
        double penalty = METEOR_GAMMA * Math.pow((double) chunks / matches, METEOR_BETA);
        return fmean * (1 - penalty);
    }

    static int longestCommonSubsequence(int[] a, int[] b) {
        int[] row = new int[b.length + 1];
        for (int x : a) {
            int diagonal = 0;
            for (int j = 1; j <= b.length; j++) {
                int above = row[j];
                row[j] = x == b[j - 1] ? diagonal + 1 : Math.max(row[j], row[j - 1]);
                diagonal = above;
            }
        }
        return row[b.length];
    }

    private static double f1(double precision, double recall) {
        return precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall);
    }

    private static Set<Integer> distinct(int[] ids) {
        Set<Integer> s = new HashSet<>();
        for (int id : ids) {
            s.add(id);
        }
        return s;
    }
}
