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

    /**
     * One training step on sequences whose targets start at {@code lossFrom}. {@code exampleIds} name the
     * sequences for the Gradfree cache (may be null when caching is off).
     */
    public ClientStep step(BackboneLink link, List<int[]> sequences, int[] lossFrom, List<String> exampleIds) {
        long step = optimizer.step();
        float lr = schedule.at(step);
        long computeNanos = 0;
        long t0 = System.nanoTime();
        try (NDManager scope = DjlRuntime.newManager();
             TokenBatch batch = TokenBatch.of(scope, sequences, lossFrom, client.config().padTokenId())) {
            long[] lengths = batch.lengths();
            int t = batch.sequenceLength();
            int h = client.config().hiddenSize();

            // 1. Bottom: embeddings and input adapter. Recorded only when the input adapter trains.
            NDArray hIn = null;
            NDArray penalty = null;
            HostTensor hOutHost = cacheBackbone ? cachedBackbone(exampleIds, lengths, t, h) : null;
            boolean cached = hOutHost != null;
            HostTensor hInHost = null;
            if (!cached) {
                if (design == Design.ONLINE) {
                    try (GradientCollector gc = DjlRuntime.gradientCollector()) {
                        NDArray embeddings = client.tokenEmbeddings(batch);
                        hIn = client.blocks(client.embed(batch), batch, 0, split.k());
                        penalty = regularizer.penalty(embeddings, hIn, batch);
                    }
                    hInHost = OptModel.hostCopy(hIn);
                } else {
                    hInHost = DjlRuntime.withoutGradients(() ->
                            OptModel.hostCopy(client.blocks(client.embed(batch), batch, 0, split.k())));
                }
            }
            computeNanos += System.nanoTime() - t0;

            // 2. Backbone, remote.
            if (!cached) {
                hOutHost = link.forward(step, hInHost, lengths, design == Design.ONLINE);
                if (cacheBackbone && exampleIds != null) {
                    remember(exampleIds, lengths, hOutHost);
                }
            }

            // 3. Top: output adapter, head, loss; dL/dh_out from a leaf standing in for the received h_out.
            long t1 = System.nanoTime();
            NDArray hOut = scope.create(hOutHost.data(), new Shape(hOutHost.shape()));
            hOut.setRequiresGradient(design == Design.ONLINE);
            double taskLoss;
            double penaltyValue = 0;
            try (GradientCollector gc = DjlRuntime.gradientCollector()) {
                NDArray logits = client.head(client.blocks(hOut, batch, split.trunkTo(), split.layers()));
                NDArray loss = LmLoss.mean(logits, batch);
                taskLoss = loss.getFloat();
                gc.backward(loss);
            }
            if (penalty != null) {
                penaltyValue = penalty.getFloat();
                // Keep h_in's graph: the backbone's gradient still has to flow through it.
                JniUtils.backward((PtNDArray) penalty, (PtNDArray) scope.ones(new Shape()), true, false);
            }
            computeNanos += System.nanoTime() - t1;

            // 4. Online: send dL/dh_out, receive dL/dh_in, finish backward through the input adapter.
            if (design == Design.ONLINE) {
                HostTensor gradOut;
                try (NDArray g = hOut.getGradient()) {
                    gradOut = OptModel.hostCopy(g);
                }
                HostTensor gradIn = link.backward(step, gradOut);
                long t2 = System.nanoTime();
                if (!java.util.Arrays.equals(gradIn.shape(), hInHost.shape())) {
                    throw new IllegalStateException("dL/dh_in has shape " + java.util.Arrays.toString(gradIn.shape())
                            + ", h_in had " + java.util.Arrays.toString(hInHost.shape()));
                }
                JniUtils.backward((PtNDArray) hIn, (PtNDArray) scope.create(gradIn.data(), hIn.getShape()), false,
                        false);
                computeNanos += System.nanoTime() - t2;
            }
            long t3 = System.nanoTime();
            double norm = optimizer.update(trainable, lr);
            computeNanos += System.nanoTime() - t3;
            long targets = (long) batch.lossWeights().sum().getFloat();
            return new ClientStep(step, taskLoss, penaltyValue, norm, targets, computeNanos / 1_000_000, cached);
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
