package io.guardedtuning.split;

import io.guardedtuning.tensor.HostTensor;

import java.util.List;

/**
 * The client's view of the provider's backbone: a request/response exchange for one step. Implementations move
 * the tensors in-process or over Kafka, applying the configured wire codecs (so quantisation happens here).
 */
public interface BackboneLink {

    /**
     * The client's own tokens of the batch whose h_in comes next, for checks the client runs on what it is about to
     * send (the leakage budget). Never sent; links that move tensors ignore it.
     */
    default void beforeBatch(List<int[]> sequences) {
    }

    /**
     * The σ of the noise on the h_in that comes next, called before each forward by a defence that may change it
     * within a pass (the leakage budget), so that links that announce the defence name on the wire what was applied.
     */
    default void noiseApplied(float noiseStd) {
    }

    /**
     * Sends h_in for a step and returns h_out. {@code forBackward} tells the server a gradient will follow and
     * it should keep what backward needs.
     */
    HostTensor forward(long step, HostTensor hIn, long[] lengths, boolean forBackward);

    /** Later steps whose h_in may be out ahead ({@link #sendAhead}) at once. */
    int MAX_AHEAD = 2;

    /**
     * Offers the h_in of a later forward-only step (Gradfree, whose bottom does not train) before that step runs, so
     * that a link on a wire can send it now and the backbone computes it while the client finishes the current step.
     * That step's {@link #exchange} then passes this same tensor and waits for the answer instead of sending again.
     * The default sends nothing, as do the defences that check or noise h_in before it leaves: their step sends it.
     */
    default void sendAhead(long step, HostTensor hIn, long[] lengths) {
    }

    /** Sends dL/dh_out for a step whose forward was sent with {@code forBackward}, returns dL/dh_in. */
    HostTensor backward(long step, HostTensor gradOut);

    /** The client's top half, run on one micro-batch's h_out as soon as it arrives. */
    @FunctionalInterface
    interface Top {
        /**
         * @return dL/dh_out of the part's rows, or null when no gradient goes back (a forward not for backward)
         */
        HostTensor apply(MicroBatches.Part part, HostTensor hOut);
    }

    /**
     * A whole split step: h_in up, each h_out handed to {@code top} as it arrives, and (when {@code forBackward})
     * each of top's gradients sent back at once. Returns dL/dh_in of the whole batch, or null without backward.
     * Links that pipeline cut the batch into micro-batches so that top runs on one part while the next is on the
     * wire or in the backbone; the result is the same as this unpipelined default.
     */
    default HostTensor exchange(long step, HostTensor hIn, long[] lengths, boolean forBackward, Top top) {
        HostTensor hOut = forward(step, hIn, lengths, forBackward);
        HostTensor gradOut = top.apply(MicroBatches.whole(hIn), hOut);
        return forBackward ? backward(step, gradOut) : null;
    }
}
