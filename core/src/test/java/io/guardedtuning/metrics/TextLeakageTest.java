package io.guardedtuning.metrics;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

class TextLeakageTest {

    private static final int[] HYP = {1, 2, 3, 4};
    private static final int[] REF = {1, 3, 4, 5, 6};

    @Test
    void rougeLUsesTheLongestCommonSubsequence() {
        // LCS = [1, 3, 4]: P = 3/4, R = 3/5, F1 = 2/3.
        assertEquals(2.0 / 3, TextLeakage.rougeLF1(HYP, REF), 1e-12);
        // LCS = 1: P = 1/3, R = 1/2, F1 = 0.4.
        assertEquals(0.4, TextLeakage.rougeLF1(new int[] {7, 7, 8}, new int[] {7, 9}), 1e-12);
        assertEquals(0, TextLeakage.rougeLF1(new int[] {1}, new int[] {2}), 0);
        assertEquals(0, TextLeakage.rougeLF1(new int[0], REF), 0);
    }

    @Test
    void tokenSetF1CountsDistinctTokensOnly() {
        // {7, 8} vs {7, 9}: P = R = 1/2.
        assertEquals(0.5, TextLeakage.tokenSetF1(new int[] {7, 7, 8}, new int[] {7, 9}), 1e-12);
        // Order does not matter.
        assertEquals(1, TextLeakage.tokenSetF1(new int[] {3, 2, 1}, new int[] {1, 2, 3}), 1e-12);
    }

    @Test
    void meteorExactCountsChunks() {
        // Matches (hyp, ref): (0,0), (2,1), (3,2); 2 chunks; P = 3/4, R = 3/5.
        double p = 0.75;
        double r = 0.6;
        double fmean = p * r / (0.9 * p + 0.1 * r);
        double want = fmean * (1 - 0.5 * Math.pow(2.0 / 3, 3));
        assertEquals(want, TextLeakage.meteorExact(HYP, REF), 1e-12);
        assertEquals(0.5215419, want, 1e-6);
        // A perfect 3-token match is one chunk: 1 − 0.5·(1/3)³, as NLTK gives.
        assertEquals(1 - 0.5 / 27, TextLeakage.meteorExact(new int[] {5, 6, 7}, new int[] {5, 6, 7}), 1e-12);
        // Reversed order: every match is its own chunk.
        double reversed = 1 - 0.5 * 1;
        assertEquals(reversed, TextLeakage.meteorExact(new int[] {7, 6, 5}, new int[] {5, 6, 7}), 1e-12);
    }

    @Test
    void averagesPerSampleAndCountsMissingHypothesesAsZero() {
        TextLeakage.Scores s = TextLeakage.score(List.of(new int[] {5, 6, 7}),
                List.of(new int[] {5, 6, 7}, new int[] {1, 2}));
        assertEquals(0.5, s.rougeL(), 1e-12);
        assertEquals(0.5, s.tokenSetF1(), 1e-12);
        assertEquals((1 - 0.5 / 27) / 2, s.meteorExact(), 1e-12);
        assertEquals(2, s.samples());
    }

    @Test
    void trimDropsPadding() {
        List<int[]> t = TextLeakage.trim(List.of(new int[] {4, 5, 1, 1}), new long[] {2});
        assertEquals(2, t.get(0).length);
    }
}
