package io.guardedtuning.train;

import io.guardedtuning.data.McExample;
import io.guardedtuning.eval.McEncoder;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The fine-tuning data order: each epoch visits every training example once, in a seeded shuffle, in batches of
 * (context + correct answer) sequences trained on the answer tokens. The cursor (epoch, position) is all that is
 * needed to resume exactly where a run stopped.
 */
public final class TaskBatches {

    /** One batch: sequences, the index each sequence's loss starts at, and the example ids. */
    public record Batch(List<int[]> sequences, int[] lossFrom, List<String> exampleIds) {
    }

    private final List<McExample> examples;
    private final McEncoder encoder;
    private final int batchSize;
    private final long seed;
    private int epoch;
    private int position;
    private int[] order;
    /** The next batch, read ahead by {@link #peek} with the cursor after it; null when none was. */
    private Batch peeked;
    private int epochAfterPeeked;
    private int positionAfterPeeked;
    private int[] orderAfterPeeked;

    public TaskBatches(List<McExample> examples, McEncoder encoder, int batchSize, long seed) {
        if (examples.isEmpty()) {
            throw new IllegalArgumentException("no training examples");
        }
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
        }
        this.examples = List.copyOf(examples);
        this.encoder = encoder;
        this.batchSize = batchSize;
        this.seed = seed;
        this.order = shuffle(0);
    }

    public int batchesPerEpoch() {
        return (examples.size() + batchSize - 1) / batchSize;
    }

    public int epoch() {
        return epoch;
    }

    public int position() {
        return position;
    }

    /** Moves the cursor, e.g. when resuming from a checkpoint. */
    public void seek(int epoch, int position) {
        if (position < 0 || position > examples.size()) {
            throw new IllegalArgumentException("position " + position + " outside 0.." + examples.size());
        }
        this.epoch = epoch;
        this.position = position;
        this.order = shuffle(epoch);
        this.peeked = null;
    }

    /** The batch {@link #next} returns next, without moving the cursor (epoch and position stay where they are). */
    public Batch peek() {
        if (peeked == null) {
            int e = epoch;
            int p = position;
            int[] o = order;
            peeked = read();
            epochAfterPeeked = epoch;
            positionAfterPeeked = position;
            orderAfterPeeked = order;
            epoch = e;
            position = p;
            order = o;
        }
        return peeked;
    }

    public Batch next() {
        if (peeked != null) {
            Batch b = peeked;
            peeked = null;
            epoch = epochAfterPeeked;
            position = positionAfterPeeked;
            order = orderAfterPeeked;
            return b;
        }
        return read();
    }

    private Batch read() {
        if (position >= examples.size()) {
            epoch++;
            position = 0;
            order = shuffle(epoch);
        }
        int end = Math.min(examples.size(), position + batchSize);
        List<int[]> seqs = new ArrayList<>();
        List<String> ids = new ArrayList<>();
        int[] lossFrom = new int[end - position];
        for (int i = position; i < end; i++) {
            McExample e = examples.get(order[i]);
            McEncoder.Encoded enc = encoder.encodeAnswer(e);
            seqs.add(enc.tokens());
            lossFrom[i - position] = enc.scoredFrom();
            ids.add(e.id());
        }
        position = end;
        return new Batch(seqs, lossFrom, ids);
    }

    private int[] shuffle(int forEpoch) {
        int[] o = new int[examples.size()];
        for (int i = 0; i < o.length; i++) {
            o[i] = i;
        }
        SplittableRandom r = new SplittableRandom(seed * 1_000_003L + forEpoch);
        for (int i = o.length - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            int t = o[i];
            o[i] = o[j];
            o[j] = t;
        }
        return o;
    }
}
