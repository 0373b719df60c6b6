package io.guardedtuning.data;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Cuts a pool of examples into class-balanced, disjoint train/validation/test splits.
 *
 * <p>Each class is ordered by SHA-256 of (salt, id); test takes the first examples of every class, validation the
 * next, train the rest. Test therefore does not move when the train size changes. Within a split, examples are
 * ordered by the same hash so that classes interleave. With an odd split size the lower labels get the extra example.
 */
final class BalancedSplit {

    private BalancedSplit() {
    }

    static List<List<McExample>> split(String taskName, List<McExample> pool, int classes, SplitSizes sizes) {
        // Hash each id once: the sorts below would otherwise rehash on every comparison.
        Map<String, Long> hashes = new HashMap<>();
        pool.forEach(example -> hashes.put(example.id(), StableHash.of(taskName, example.id())));
        Comparator<McExample> byHash = Comparator.comparingLong((McExample e) -> hashes.get(e.id()))
                .thenComparing(McExample::id);
        List<List<McExample>> byClass = new ArrayList<>();
        for (int label = 0; label < classes; label++) {
            byClass.add(new ArrayList<>());
        }
        for (McExample example : pool) {
            byClass.get(example.label()).add(example);
        }
        for (int label = 0; label < classes; label++) {
            byClass.get(label).sort(byHash);
            int needed = perClass(sizes.test(), classes, label) + perClass(sizes.validation(), classes, label)
                    + perClass(sizes.train(), classes, label);
            if (byClass.get(label).size() < needed) {
                throw new IllegalArgumentException(taskName + ": label " + label + " has " + byClass.get(label).size()
                        + " distinct examples but the split sizes " + sizes + " need " + needed);
            }
        }
        int[] next = new int[classes];
        List<McExample> test = take(byClass, next, sizes.test(), byHash);
        List<McExample> validation = take(byClass, next, sizes.validation(), byHash);
        List<McExample> train = take(byClass, next, sizes.train(), byHash);
        return List.of(train, validation, test);
    }

    private static List<McExample> take(List<List<McExample>> byClass, int[] next, int size,
                                        Comparator<McExample> order) {
        List<McExample> split = new ArrayList<>();
        for (int label = 0; label < byClass.size(); label++) {
            int count = perClass(size, byClass.size(), label);
            split.addAll(byClass.get(label).subList(next[label], next[label] + count));
            next[label] += count;
        }
        split.sort(order);
        return split;
    }

    private static int perClass(int size, int classes, int label) {
        return size / classes + (label < size % classes ? 1 : 0);
    }
}
