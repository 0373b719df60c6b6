package io.guardedtuning.split;

import io.guardedtuning.tensor.HostTensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * How a step's batch is cut into micro-batches for the wire: contiguous rows, sizes differing by at most one, each
 * part padded only to its own longest row. Rows never interact in the model (attention is per row and masked), so
 * the parts' h_out put back together equal the whole batch's h_out.
 */
public final class MicroBatches {

    /** Most parts a step may be cut into: bounds what a server holds and caches per step. */
    public static final int MAX_PARTS = 8;
    /** The setting that lets the size of h_in choose ({@link #auto}). */
    public static final int AUTO = 0;
    /** Below this much h_in a step goes whole: each extra part costs a round trip that small parts cannot hide. */
    static final long AUTO_MIN_BYTES = 2L << 20;
    static final int AUTO_PARTS = 4;

    /** One part: rows {@code [firstRow, firstRow + rows)} of the batch, padded to {@code tokens}. */
    public record Part(int index, int firstRow, int rows, int tokens) {
    }

    private MicroBatches() {
    }

    /** The parts of a batch with these row lengths, at most {@code parts} of them (never more than rows). */
    public static List<Part> plan(long[] lengths, int parts) {
        if (parts < 1 || parts > MAX_PARTS) {
            throw new IllegalArgumentException("a step is cut into 1.." + MAX_PARTS + " parts, got " + parts);
        }
        int n = Math.min(parts, lengths.length);
        List<Part> out = new ArrayList<>(n);
        int first = 0;
        for (int i = 0; i < n; i++) {
            int rows = lengths.length / n + (i < lengths.length % n ? 1 : 0);
            long tokens = Arrays.stream(lengths, first, first + rows).max().orElseThrow();
            out.add(new Part(i, first, rows, Math.toIntExact(tokens)));
            first += rows;
        }
        return out;
    }

    /** A setting: {@link #AUTO} or a number of parts in 1..{@link #MAX_PARTS}. */
    public static void requireValid(int setting) {
        if (setting < AUTO || setting > MAX_PARTS) {
            throw new IllegalArgumentException("micro-batches per step must be 0 (auto) or in 1.." + MAX_PARTS
                    + ", got " + setting);
        }
    }

    /**
     * The parts a setting gives for this h_in: itself, or for {@link #AUTO} one part below 2 MiB of fp32 h_in and
     * four from there (measured in docs/benchmarks.md: four parts slow the bundled model's steps down and speed
     * the OPT-125m shape's up).
     */
    public static int parts(int setting, HostTensor hIn) {
        requireValid(setting);
        if (setting != AUTO) {
            return setting;
        }
        return 4L * hIn.data().length >= AUTO_MIN_BYTES ? AUTO_PARTS : 1;
    }

    /** The single part a whole batch is when it is not cut. */
    public static Part whole(HostTensor batch) {
        return new Part(0, 0, (int) batch.shape()[0], (int) batch.shape()[1]);
    }

    /** The part's rows of a [batch, tokens, hidden] tensor, cut to the part's own padding. */
    public static HostTensor rows(HostTensor batch, Part p) {
        long[] s = batch.shape();
        int t = (int) s[1];
        int h = (int) s[2];
        float[] out = new float[p.rows() * p.tokens() * h];
        for (int r = 0; r < p.rows(); r++) {
            System.arraycopy(batch.data(), (p.firstRow() + r) * t * h, out, r * p.tokens() * h, p.tokens() * h);
        }
        return new HostTensor(new long[] {p.rows(), p.tokens(), h}, out);
    }

    public static long[] lengths(long[] lengths, Part p) {
        return Arrays.copyOfRange(lengths, p.firstRow(), p.firstRow() + p.rows());
    }

    /** Writes a part's [rows, tokens, hidden] tensor back into the whole batch's buffer (padding beyond stays 0). */
    public static void place(HostTensor part, Part p, HostTensor batch) {
        long[] s = batch.shape();
        int t = (int) s[1];
        int h = (int) s[2];
        if (part.shape()[0] != p.rows() || part.shape()[1] != p.tokens() || part.shape()[2] != h) {
            throw new IllegalArgumentException("micro-batch " + p.index() + " came back with shape "
                    + Arrays.toString(part.shape()) + ", expected [" + p.rows() + ", " + p.tokens() + ", " + h + "]");
        }
        for (int r = 0; r < p.rows(); r++) {
            System.arraycopy(part.data(), r * p.tokens() * h, batch.data(), (p.firstRow() + r) * t * h,
                    p.tokens() * h);
        }
    }
}
