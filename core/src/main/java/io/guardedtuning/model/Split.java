package io.guardedtuning.model;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * The U-shaped cut every design uses: the client holds the embeddings, the input adapter (layers {@code [0, k)}),
 * the output adapter (layers {@code [L-k, L)}), the final norm and the tied head; the provider's backbone is the
 * middle layers {@code [k, L-k)}.
 */
public record Split(int k, int layers) {

    public Split {
        if (k < 1) {
            throw new IllegalArgumentException("split point k must be >= 1, got " + k);
        }
        if (2 * k >= layers) {
            throw new IllegalArgumentException("split point k=" + k + " leaves no backbone in a model of " + layers
                    + " layers (need 2k < layers)");
        }
    }

    public static Split of(int k, OptConfig config) {
        return new Split(k, config.numHiddenLayers());
    }

    public int trunkFrom() {
        return k;
    }

    public int trunkTo() {
        return layers - k;
    }

    public int trunkLayers() {
        return layers - 2 * k;
    }

    private static int layerOf(String name) {
        if (!name.startsWith(OptParameters.PREFIX + "layers.")) {
            return -1;
        }
        String rest = name.substring((OptParameters.PREFIX + "layers.").length());
        return Integer.parseInt(rest.substring(0, rest.indexOf('.')));
    }

    /** Tensors of the backbone, which stay with the provider. */
    public Predicate<String> backbone() {
        return name -> {
            int l = layerOf(name);
            return l >= k && l < layers - k;
        };
    }

    /** Tensors the client holds: everything but the backbone. */
    public Predicate<String> client() {
        return backbone().negate();
    }

    /** Input adapter: the first k layers. */
    public Predicate<String> inputAdapter() {
        return name -> {
            int l = layerOf(name);
            return l >= 0 && l < k;
        };
    }

    /** Output adapter: the last k layers and the final norm (the head is tied to the frozen embedding). */
    public Predicate<String> outputAdapter() {
        return name -> {
            int l = layerOf(name);
            return l >= layers - k || name.startsWith(OptParameters.FINAL_NORM);
        };
    }

    /** Both adapters: what the Online and Offline designs train. */
    public Predicate<String> adapters() {
        return inputAdapter().or(outputAdapter());
    }

    public static List<String> select(Iterable<String> names, Predicate<String> which) {
        List<String> out = new ArrayList<>();
        for (String n : names) {
            if (which.test(n)) {
                out.add(n);
            }
        }
        return out;
    }
}
