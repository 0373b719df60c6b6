package io.guardedtuning.split;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;
import io.guardedtuning.engine.DjlRuntime;
import io.guardedtuning.model.OptModel;
import io.guardedtuning.model.Split;
import io.guardedtuning.model.TokenBatch;
import io.guardedtuning.tensor.HostTensor;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The provider's side of a split step: the frozen backbone run forward on a received h_in, and backward from a
 * received dL/dh_out to dL/dh_in. Serves many sessions; what backward needs is kept per (session, step, micro-batch) in a
 * bounded store, oldest evicted first. An evicted or unknown step raises {@link MissingActivationException} so
 * the client resends: nothing here is needed for correctness, which lets the service scale out and restart.
 *
 * <p>Not thread-safe: PyTorch allows one gradient recorder per process, so callers serialise steps.
 */
public final class BackboneServer implements AutoCloseable {

    private record Held(NDManager scope, NDArray hIn, NDArray hOut, TokenBatch batch) implements AutoCloseable {
        @Override
        public void close() {
            scope.close();
        }
    }

    private final OptModel backbone;
    private final Split split;
    private final int maxHeld;
    private final Map<String, Held> held = new LinkedHashMap<>();
    private long evictions;

    public BackboneServer(OptModel backbone, Split split, int maxHeldSteps) {
        if (maxHeldSteps < 1) {
            throw new IllegalArgumentException("the server must hold at least one step, got " + maxHeldSteps);
        }
        this.backbone = backbone;
        this.split = split;
        this.maxHeld = maxHeldSteps;
        for (int l = split.trunkFrom(); l < split.trunkTo(); l++) {
            backbone.parameter(io.guardedtuning.model.OptParameters.layer(l) + "fc1.weight");
        }
        backbone.setTrainable(java.util.List.of());
    }

    private static String key(String session, long step, int microBatch) {
        return session + "#" + step + "#" + microBatch;
    }

    public HostTensor forward(String session, long step, HostTensor hIn, long[] lengths, boolean forBackward) {
        return forward(session, step, 0, hIn, lengths, forBackward);
    }

    /** The backbone on one micro-batch of a step; each part is held for its own backward. */
    public HostTensor forward(String session, long step, int microBatch, HostTensor hIn, long[] lengths,
                              boolean forBackward) {
        int t = checkActivation(hIn, lengths);
        drop(key(session, step, microBatch));
        NDManager scope = DjlRuntime.newManager();
        try {
            TokenBatch batch = TokenBatch.ofLengths(scope, lengths, t, backbone.config().padTokenId());
            NDArray input = scope.create(hIn.data(), new Shape(hIn.shape()));
            if (!forBackward) {
                HostTensor out = DjlRuntime.withoutGradients(() -> OptModel.hostCopy(
                        backbone.blocks(input, batch, split.trunkFrom(), split.trunkTo())));
                scope.close();
                return out;
            }
            input.setRequiresGradient(true);
            NDArray output;
            try (GradientCollector gc = DjlRuntime.gradientCollector()) {
                output = backbone.blocks(input, batch, split.trunkFrom(), split.trunkTo());
            }
            HostTensor out = OptModel.hostCopy(output);
            held.put(key(session, step, microBatch), new Held(scope, input, output, batch));
            evictOverflow();
            return out;
        } catch (RuntimeException e) {
            scope.close();
            throw e;
        }
    }

    public HostTensor backward(String session, long step, HostTensor gradOut) {
        return backward(session, step, 0, gradOut);
    }

    public HostTensor backward(String session, long step, int microBatch, HostTensor gradOut) {
        Held h = held.remove(key(session, step, microBatch));
        if (h == null) {
            throw new MissingActivationException(session, step);
        }
        try (h) {
            if (!java.util.Arrays.equals(h.hOut().getShape().getShape(), gradOut.shape())) {
                throw new IllegalArgumentException("gradient shape " + java.util.Arrays.toString(gradOut.shape())
                        + " does not match h_out " + h.hOut().getShape() + " for session " + session + " step "
                        + step + " micro-batch " + microBatch);
            }
            NDArray g = h.scope().create(gradOut.data(), h.hOut().getShape());
            JniUtils.backward((PtNDArray) h.hOut(), (PtNDArray) g, false, false);
            try (NDArray gradIn = h.hIn().getGradient()) {
                return OptModel.hostCopy(gradIn);
            }
        }
    }

    private int checkActivation(HostTensor hIn, long[] lengths) {
        long[] s = hIn.shape();
        if (s.length != 3 || s[2] != backbone.config().hiddenSize() || s[0] != lengths.length) {
            throw new IllegalArgumentException("activation shape " + java.util.Arrays.toString(s) + " is not [batch="
                    + lengths.length + ", tokens, hidden=" + backbone.config().hiddenSize() + "]");
        }
        if (s[1] > backbone.config().maxPositionEmbeddings()) {
            throw new IllegalArgumentException("activation has " + s[1] + " tokens, over the model's "
                    + backbone.config().maxPositionEmbeddings());
        }
        return (int) s[1];
    }

    /** Forgets a session's held steps, e.g. when it ends. */
    public void endSession(String session) {
        Iterator<Map.Entry<String, Held>> it = held.entrySet().iterator();
        while (it.hasNext()) {
            Map.Entry<String, Held> e = it.next();
            if (e.getKey().startsWith(session + "#")) {
                e.getValue().close();
                it.remove();
            }
        }
    }

    private void drop(String key) {
        Held old = held.remove(key);
        if (old != null) {
            old.close();
        }
    }

    private void evictOverflow() {
        Iterator<Held> it = held.values().iterator();
        while (held.size() > maxHeld && it.hasNext()) {
            it.next().close();
            it.remove();
            evictions++;
        }
    }

    public int heldSteps() {
        return held.size();
    }

    public long evictions() {
        return evictions;
    }

    public Split split() {
        return split;
    }

    @Override
    public void close() {
        held.values().forEach(Held::close);
        held.clear();
    }
}
