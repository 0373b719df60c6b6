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
import io.guardedtuning.train.AdamW;
import io.guardedtuning.train.LearningRateSchedule;
import io.guardedtuning.train.LmLoss;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The client's half of split fine-tuning: embeddings, input adapter, output adapter and head, with the backbone
 * reached through a {@link BackboneLink}. One {@link #step} runs the design's exchange:
 * <ul>
 *   <li>Online: h_in up, h_out down, dL/dh_out up, dL/dh_in down; both adapters update; the loss may carry a
 *   penalty on h_in (the dCor regulariser), whose gradient reaches the input adapter directly.</li>
 *   <li>Gradfree: h_in up, h_out down; only the output adapter updates. Since nothing before h_out trains, h_out
 *   is cached per example and later epochs need no traffic at all.</li>
 * </ul>
 * Inputs and labels never leave this object: only h_in, its lengths and dL/dh_out do.
 */
public final class ClientSplitTrainer implements AutoCloseable {

    private final OptModel client;
    private final Split split;
    private final Design design;
    private final ActivationRegularizer regularizer;
    private final Map<String, NDArray> trainable = new LinkedHashMap<>();
    private final AdamW optimizer;
    private final LearningRateSchedule schedule;
    private final Map<String, HostTensor> backboneCache = new java.util.HashMap<>();
    private final boolean cacheBackbone;
    /**
     * Gradfree h_in of later steps computed ahead ({@link #sendAhead}), by step; at most
     * {@link BackboneLink#MAX_AHEAD} are pending.
     */
    private final java.util.TreeMap<Long, Ahead> hInAhead = new java.util.TreeMap<>();

    private record Ahead(List<int[]> sequences, HostTensor hIn) {
    }

    public ClientSplitTrainer(OptModel client, Split split, Design design, AdamW.Settings settings,
                              LearningRateSchedule schedule, ActivationRegularizer regularizer,
                              boolean cacheBackboneOutputs) {
        if (design == Design.OFFLINE) {
            throw new IllegalArgumentException("the Offline design trains against an emulator, not a backbone link");
        }
        this.client = client;
        this.split = split;
        this.design = design;
        this.regularizer = regularizer;
        this.schedule = schedule;
        this.cacheBackbone = cacheBackboneOutputs && design == Design.GRADFREE;
        var which = design == Design.ONLINE ? split.adapters() : split.outputAdapter();
        client.parameters().forEach((n, p) -> {
            if (which.test(n)) {
                trainable.put(n, p);
            }
        });
        client.setTrainable(trainable.keySet());
        this.optimizer = new AdamW(settings);
    }

    /** Whether a step on these examples sends anything: not when Gradfree has every backbone output cached. */
    public boolean crossesWire(List<String> exampleIds) {
        return !cacheBackbone || exampleIds == null || !exampleIds.stream().allMatch(backboneCache::containsKey);
    }

    /**
     * Gradfree only (a no-op otherwise): computes the h_in of a later step's sequences now and hands it to the link,
     * which may send it at once, so that the backbone computes that step while this client is still busy with the
     * current one. Nothing before h_in trains in Gradfree, so this h_in is exactly what the step would compute; the
     * step uses it instead of computing it again.
     */
    public void sendAhead(BackboneLink link, long step, List<int[]> sequences, int[] lossFrom,
                          List<String> exampleIds) {
        if (design != Design.GRADFREE || step < optimizer.step() || !crossesWire(exampleIds)) {
            return;
        }
        try (NDManager scope = DjlRuntime.newManager();
             TokenBatch batch = TokenBatch.of(scope, sequences, lossFrom, client.config().padTokenId())) {
            HostTensor hIn = bottomWithoutGradients(batch);
            hInAhead.headMap(optimizer.step()).clear();
            if (hInAhead.size() < BackboneLink.MAX_AHEAD) {
                hInAhead.put(step, new Ahead(sequences, hIn));
                link.sendAhead(step, hIn, batch.lengths());
            }
        }
    }

    private HostTensor bottomWithoutGradients(TokenBatch batch) {
        return DjlRuntime.withoutGradients(() ->
                OptModel.hostCopy(client.blocks(client.embed(batch), batch, 0, split.k())));
    }

    /**
     * One training step on sequences whose targets start at {@code lossFrom}. {@code exampleIds} name the
     * sequences for the Gradfree cache (may be null when caching is off). The top half runs once per micro-batch the
     * link cuts the step into, each part's loss its share of the whole batch's mean, so the update is the same
     * however the link pipelines.
     */
    public ClientStep step(BackboneLink link, List<int[]> sequences, int[] lossFrom, List<String> exampleIds) {
        long step = optimizer.step();
        float lr = schedule.at(step);
        long t0 = System.nanoTime();
        try (NDManager scope = DjlRuntime.newManager();
             TokenBatch batch = TokenBatch.of(scope, sequences, lossFrom, client.config().padTokenId())) {
            long[] lengths = batch.lengths();
            int t = batch.sequenceLength();
            int h = client.config().hiddenSize();
            float targets = batch.lossWeights().sum().getFloat();
            Top top = new Top(scope, batch, sequences, lossFrom, exampleIds, targets);

            HostTensor cachedOut = cacheBackbone ? cachedBackbone(exampleIds, lengths, t, h) : null;
            boolean cached = cachedOut != null;
            if (cached) {
                top.apply(MicroBatches.whole(cachedOut), cachedOut);
            } else if (design == Design.ONLINE) {
                // 1. Bottom: embeddings and input adapter, recorded; the dCor penalty is over the whole batch.
                NDArray hIn;
                NDArray penalty;
                try (GradientCollector gc = DjlRuntime.gradientCollector()) {
                    NDArray embeddings = client.tokenEmbeddings(batch);
                    hIn = client.blocks(client.embed(batch), batch, 0, split.k());
                    penalty = regularizer.penalty(embeddings, hIn, batch);
                }
                if (penalty != null) {
                    top.penalty = penalty.getFloat();
                    // Keep h_in's graph: the backbone's gradient still has to flow through it.
                    JniUtils.backward((PtNDArray) penalty, (PtNDArray) scope.ones(new Shape()), true, false);
                }
                HostTensor hInHost = OptModel.hostCopy(hIn);
                top.computeNanos += System.nanoTime() - t0;
                // 2-4. Backbone (remote), top half per micro-batch, dL/dh_in back through the input adapter.
                HostTensor gradIn = link.exchange(step, hInHost, lengths, true, top);
                long t2 = System.nanoTime();
                if (!java.util.Arrays.equals(gradIn.shape(), hInHost.shape())) {
                    throw new IllegalStateException("dL/dh_in has shape " + java.util.Arrays.toString(gradIn.shape())
                            + ", h_in had " + java.util.Arrays.toString(hInHost.shape()));
                }
                JniUtils.backward((PtNDArray) hIn, (PtNDArray) scope.create(gradIn.data(), hIn.getShape()), false,
                        false);
                top.computeNanos += System.nanoTime() - t2;
            } else {
                Ahead ahead = hInAhead.remove(step);
                HostTensor hInHost = ahead != null && ahead.sequences() == sequences ? ahead.hIn()
                        : bottomWithoutGradients(batch);
                top.computeNanos += System.nanoTime() - t0;
                link.exchange(step, hInHost, lengths, false, top);
            }
            long t3 = System.nanoTime();
            double norm = optimizer.update(trainable, lr);
            top.computeNanos += System.nanoTime() - t3;
            return new ClientStep(step, top.taskLoss, top.penalty, norm, (long) targets,
                    top.computeNanos / 1_000_000, cached);
        }
    }

    /**
     * The top half of one step, run per micro-batch: output adapter, head and this part's share of the loss, with
     * dL/dh_out taken from a leaf standing in for the received h_out.
     */
    private final class Top implements BackboneLink.Top {
        private final NDManager scope;
        private final TokenBatch batch;
        private final List<int[]> sequences;
        private final int[] lossFrom;
        private final List<String> exampleIds;
        private final float targets;
        double taskLoss;
        double penalty;
        long computeNanos;

        Top(NDManager scope, TokenBatch batch, List<int[]> sequences, int[] lossFrom, List<String> exampleIds,
            float targets) {
            this.scope = scope;
            this.batch = batch;
            this.sequences = sequences;
            this.lossFrom = lossFrom;
            this.exampleIds = exampleIds;
            this.targets = targets;
        }

        @Override
        public HostTensor apply(MicroBatches.Part part, HostTensor hOutHost) {
            long t1 = System.nanoTime();
            boolean whole = part.rows() == batch.batchSize();
            int to = part.firstRow() + part.rows();
            if (cacheBackbone && exampleIds != null) {
                remember(exampleIds.subList(part.firstRow(), to), MicroBatches.lengths(batch.lengths(), part),
                        hOutHost);
            }
            try (NDManager partScope = scope.newSubManager();
                 TokenBatch rows = whole ? null : TokenBatch.of(partScope, sequences.subList(part.firstRow(), to),
                         java.util.Arrays.copyOfRange(lossFrom, part.firstRow(), to),
                         client.config().padTokenId())) {
                TokenBatch b = whole ? batch : rows;
                NDArray hOut = partScope.create(hOutHost.data(), new Shape(hOutHost.shape()));
                hOut.setRequiresGradient(design == Design.ONLINE);
                try (GradientCollector gc = DjlRuntime.gradientCollector()) {
                    NDArray logits = client.head(client.blocks(hOut, b, split.trunkTo(), split.layers()));
                    NDArray loss = LmLoss.share(logits, b, targets);
                    taskLoss += loss.getFloat();
                    gc.backward(loss);
                }
                if (design != Design.ONLINE) {
                    return null;
                }
                try (NDArray g = hOut.getGradient()) {
                    return OptModel.hostCopy(g);
                }
            } finally {
                computeNanos += System.nanoTime() - t1;
            }
        }
    }

    private HostTensor cachedBackbone(List<String> ids, long[] lengths, int t, int h) {
        if (ids == null) {
            return null;
        }
        float[] out = new float[lengths.length * t * h];
        for (int i = 0; i < ids.size(); i++) {
            HostTensor rows = backboneCache.get(ids.get(i));
            if (rows == null || rows.shape()[0] != lengths[i]) {
                return null;
            }
            System.arraycopy(rows.data(), 0, out, i * t * h, rows.data().length);
        }
        return new HostTensor(new long[] {lengths.length, t, h}, out);
    }

    private void remember(List<String> ids, long[] lengths, HostTensor hOut) {
        int t = (int) hOut.shape()[1];
        int h = (int) hOut.shape()[2];
        for (int i = 0; i < ids.size(); i++) {
            int n = (int) lengths[i];
            float[] rows = new float[n * h];
            System.arraycopy(hOut.data(), i * t * h, rows, 0, n * h);
            backboneCache.put(ids.get(i), new HostTensor(new long[] {n, h}, rows));
        }
    }

    public int cachedExamples() {
        return backboneCache.size();
    }

    public Map<String, NDArray> trainable() {
        return java.util.Collections.unmodifiableMap(trainable);
    }

    public AdamW optimizer() {
        return optimizer;
    }

    public OptModel model() {
        return client;
    }

    @Override
    public void close() {
        optimizer.close();
        client.setTrainable(List.of());
    }
}
