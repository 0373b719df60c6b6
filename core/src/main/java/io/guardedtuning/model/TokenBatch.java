package io.guardedtuning.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import java.util.List;

/**
 * A right-padded batch of token ids with its attention mask and, for training, next-token targets and the weight of
 * each target in the loss. Everything here is data (never differentiated), so scalar ops are safe on it.
 */
public final class TokenBatch implements AutoCloseable {

    private final NDArray inputIds;
    private final NDArray attentionMask;
    private final NDArray positions;
    private final NDArray additiveMask;
    private final NDArray targets;
    private final NDArray lossWeights;
    private final long[] lengths;
    /** The smallest and largest id and where each is, so a batch the model cannot embed is named exactly. */
    private final Extreme lowestId;
    private final Extreme highestId;

    private record Extreme(int id, int row, int position) {
    }

    private TokenBatch(NDArray inputIds, NDArray attentionMask, NDArray positions, NDArray additiveMask,
                       NDArray targets, NDArray lossWeights, long[] lengths, Extreme lowestId, Extreme highestId) {
        this.inputIds = inputIds;
        this.attentionMask = attentionMask;
        this.positions = positions;
        this.additiveMask = additiveMask;
        this.targets = targets;
        this.lossWeights = lossWeights;
        this.lengths = lengths;
        this.lowestId = lowestId;
        this.highestId = highestId;
    }

    /**
     * Builds a batch from token sequences. Position {@code t} is trained to predict token {@code t+1}; a target is
     * counted when {@code lossFrom[i] <= t+1 < length}, so {@code lossFrom[i] = 1} trains on the whole sequence and
     * a larger value trains only on a suffix (an answer after its prompt).
     */
    public static TokenBatch of(NDManager manager, List<int[]> sequences, int[] lossFrom, int padId) {
        int b = sequences.size();
        if (b == 0) {
            throw new IllegalArgumentException("a batch needs at least one sequence");
        }
        int t = 0;
        for (int[] s : sequences) {
            if (s.length == 0) {
                throw new IllegalArgumentException("a sequence in the batch is empty");
            }
            t = Math.max(t, s.length);
        }
        long[] ids = new long[b * t];
        float[] mask = new float[b * t];
        long[] pos = new long[b * t];
        long[] next = new long[b * t];
        float[] weight = new float[b * t];
        long[] lengths = new long[b];
        Extreme lowest = new Extreme(Integer.MAX_VALUE, 0, 0);
        Extreme highest = new Extreme(Integer.MIN_VALUE, 0, 0);
        for (int i = 0; i < b; i++) {
            int[] s = sequences.get(i);
            lengths[i] = s.length;
            for (int j = 0; j < s.length; j++) {
                if (s[j] < lowest.id()) {
                    lowest = new Extreme(s[j], i, j);
                }
                if (s[j] > highest.id()) {
                    highest = new Extreme(s[j], i, j);
                }
            }
            int from = lossFrom == null ? 1 : Math.max(1, lossFrom[i]);
            for (int j = 0; j < t; j++) {
                int at = i * t + j;
                boolean real = j < s.length;
                ids[at] = real ? s[j] : padId;
                mask[at] = real ? 1f : 0f;
                // OPT: position = cumsum(mask) * mask - 1, looked up at row position + 2; a pad gets row 1.
                pos[at] = real ? j + OptConfig.POSITION_OFFSET : OptConfig.POSITION_OFFSET - 1;
                if (j + 1 < s.length) {
                    next[at] = s[j + 1];
                    weight[at] = j + 1 >= from ? 1f : 0f;
                }
            }
        }
        Shape shape = new Shape(b, t);
        NDArray idArray = manager.create(ids, shape);
        NDArray maskArray = manager.create(mask, shape);
        return new TokenBatch(idArray, maskArray, manager.create(pos, shape), additiveMask(manager, mask, b, t),
                manager.create(next, shape), manager.create(weight, shape), lengths, lowest, highest);
    }

    /**
     * Refuses a batch that {@code config}'s model cannot embed (a token id outside {@code [0, vocab_size)}, a row
     * longer than {@code max_position_embeddings}), naming the row and position, before libtorch's generic "index
     * out of range" would.
     */
    public void requireFits(OptConfig config) {
        for (Extreme e : List.of(lowestId, highestId)) {
            if (e.id() < 0 || e.id() >= config.vocabSize()) {
                throw new IllegalArgumentException("token id " + e.id() + " (row " + e.row() + ", position "
                        + e.position() + ") is outside the model's vocabulary [0, " + config.vocabSize()
                        + ") (vocab_size)");
            }
        }
        for (int i = 0; i < lengths.length; i++) {
            if (lengths[i] > config.maxPositionEmbeddings()) {
                throw new IllegalArgumentException("row " + i + " has " + lengths[i] + " tokens, more than the "
                        + "model's " + config.maxPositionEmbeddings() + " positions (max_position_embeddings)");
            }
        }
    }

    /**
     * The batch a party sees when only the padding mask crosses the wire (the backbone): right-padded sequences of
     * the given lengths, with placeholder ids that no stage of the backbone reads.
     */
    public static TokenBatch ofLengths(NDManager manager, long[] lengths, int sequenceLength, int padId) {
        List<int[]> placeholders = new java.util.ArrayList<>(lengths.length);
        for (long length : lengths) {
            if (length < 1 || length > sequenceLength) {
                throw new IllegalArgumentException("sequence length " + length + " outside 1.." + sequenceLength);
            }
            placeholders.add(new int[(int) length]);
        }
        if (java.util.Arrays.stream(lengths).max().orElse(0) != sequenceLength) {
            throw new IllegalArgumentException("no sequence reaches the batch length " + sequenceLength);
        }
        return of(manager, placeholders, null, padId);
    }

    /** Causal plus key-padding mask, [B, 1, T, T], 0 where attention is allowed and fp32's lowest value elsewhere. */
    private static NDArray additiveMask(NDManager manager, float[] mask, int b, int t) {
        float[] m = new float[b * t * t];
        for (int i = 0; i < b; i++) {
            for (int q = 0; q < t; q++) {
                for (int k = 0; k < t; k++) {
                    boolean allowed = k <= q && mask[i * t + k] > 0;
                    m[(i * t + q) * t + k] = allowed ? 0f : -Float.MAX_VALUE;
                }
            }
        }
        return manager.create(m, new Shape(b, 1, t, t));
    }

    public NDArray inputIds() {
        return inputIds;
    }

    public NDArray attentionMask() {
        return attentionMask;
    }

    public NDArray positions() {
        return positions;
    }

    public NDArray additiveMask() {
        return additiveMask;
    }

    public NDArray targets() {
        return targets;
    }

    public NDArray lossWeights() {
        return lossWeights;
    }

    public long[] lengths() {
        return lengths.clone();
    }

    public int batchSize() {
        return (int) inputIds.getShape().get(0);
    }

    public int sequenceLength() {
        return (int) inputIds.getShape().get(1);
    }

    public DataType idType() {
        return inputIds.getDataType();
    }

    @Override
    public void close() {
        inputIds.close();
        attentionMask.close();
        positions.close();
        additiveMask.close();
        targets.close();
        lossWeights.close();
    }
}
