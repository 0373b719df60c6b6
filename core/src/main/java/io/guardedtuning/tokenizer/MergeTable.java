package io.guardedtuning.tokenizer;

import java.util.HashMap;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * BPE merge rules over token ids: the pair (left, right) merges into one token, lower rank first. Not thread-safe
 * while rules are being added; {@link #apply} alone is safe to call from many threads.
 */
final class MergeTable {

    private static final int REMOVED = -1;

    /** Pair key to (rank in the high 32 bits, merged id in the low 32 bits). */
    private final Map<Long, Long> rules = new HashMap<>();
    private int size;

    void add(int left, int right, int merged) {
        // As in GPT-2 and Hugging Face, a repeated pair takes its last rank.
        rules.put(pairKey(left, right), ((long) size << 32) | merged);
        size++;
    }

    int size() {
        return size;
    }

    private static long pairKey(int left, int right) {
        return ((long) left << 32) | (right & 0xFFFFFFFFL);
    }

    /**
     * Merges adjacent tokens, always the lowest-ranked pair next and the leftmost one among equals, until no rule
     * applies. A heap of candidate pairs keeps this O(n log n), so very long words without spaces stay fast.
     */
    int[] apply(int[] ids) {
        int n = ids.length;
        if (n < 2) {
            return ids.clone();
        }
        int[] symbols = ids.clone();
        int[] previous = new int[n];
        int[] next = new int[n];
        for (int i = 0; i < n; i++) {
            previous[i] = i - 1;
            next[i] = i + 1;
        }
        // A candidate is the rank in the high 32 bits and the left position in the low 32 bits: sorted, it is in
        // merge order.
        PriorityQueue<Long> candidates = new PriorityQueue<>();
        for (int i = 0; i + 1 < n; i++) {
            offer(candidates, symbols, i, i + 1);
        }
        int remaining = n;
        while (!candidates.isEmpty()) {
            long candidate = candidates.poll();
            int rank = (int) (candidate >>> 32);
            int left = (int) candidate;
            if (symbols[left] == REMOVED || next[left] >= n) {
                continue;
            }
            int right = next[left];
            Long rule = rules.get(pairKey(symbols[left], symbols[right]));
            // Each rank belongs to one pair, so an equal rank means the candidate is still current.
            if (rule == null || (int) (rule >>> 32) != rank) {
                continue;
            }
            symbols[left] = (int) (long) rule;
            symbols[right] = REMOVED;
            next[left] = next[right];
            if (next[left] < n) {
                previous[next[left]] = left;
            }
            remaining--;
            if (previous[left] >= 0) {
                offer(candidates, symbols, previous[left], left);
            }
            if (next[left] < n) {
                offer(candidates, symbols, left, next[left]);
            }
        }
        int[] merged = new int[remaining];
        int count = 0;
        for (int i = 0; i < n; i = next[i]) {
            merged[count++] = symbols[i];
        }
        return merged;
    }

    private void offer(PriorityQueue<Long> candidates, int[] symbols, int left, int right) {
        Long rule = rules.get(pairKey(symbols[left], symbols[right]));
        if (rule != null) {
            candidates.add((rule & 0xFFFFFFFF00000000L) | left);
        }
    }
}
