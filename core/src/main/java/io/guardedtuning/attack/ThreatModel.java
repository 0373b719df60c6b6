package io.guardedtuning.attack;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.guardedtuning.engine.DjlRuntime;
import io.guardedtuning.model.OptConfig;
import io.guardedtuning.model.OptModel;
import io.guardedtuning.model.OptParameters;
import io.guardedtuning.model.Split;
import io.guardedtuning.model.TokenBatch;
import io.guardedtuning.tensor.HostTensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * What the honest-but-curious server knows (semi-white-box): the architecture and split, the <em>pretrained</em>
 * client-side weights it shipped (embeddings, positions, both adapters, final norm; the head is tied to the
 * embeddings), public auxiliary token sequences, how the client normalises its loss, and the wire defences it knows
 * about. It never holds the client's fine-tuned weights or data: it is built from a snapshot of a pretrained
 * checkpoint, copied into its own model, and accepts no live {@link OptModel}, so later fine-tuning cannot reach it.
 *
 * <p>Expensive per-threat-model artefacts (SIP's trained inverter) are cached here and closed with it.
 */
public final class ThreatModel implements AutoCloseable {

    /** How the client's causal-LM loss is normalised; gradient matching must use the same N. */
    public enum LossNormalisation {
        /** Mean over all counted next-token targets of the batch ({@code LmLoss.mean}). */
        MEAN_OVER_TARGETS,
        /** Plain sum over targets. */
        SUM
    }

    private final OptConfig config;
    private final Split split;
    private final OptModel pretrained;
    private final List<int[]> auxiliary;
    private final LossNormalisation lossNormalisation;
    private final WireDefence knownDefence;
    private final NDArray embeddingSquaredNorms;
    private final Map<String, AutoCloseable> artefacts = new LinkedHashMap<>();

    private ThreatModel(OptConfig config, Split split, OptModel pretrained, List<int[]> auxiliary,
                        LossNormalisation lossNormalisation, WireDefence knownDefence) {
        this.config = config;
        this.split = split;
        this.pretrained = pretrained;
        this.auxiliary = auxiliary;
        this.lossNormalisation = lossNormalisation;
        this.knownDefence = knownDefence;
        this.embeddingSquaredNorms = DjlRuntime.withoutGradients(
                () -> embeddings().square().sum(new int[] {1}));
    }

    /**
     * @param pretrainedWeights the pretrained checkpoint (whole, or at least its client side); only the client-side
     *                          tensors are kept, copied
     * @param auxiliary         public token sequences unlike the client's (for SIP); longer ones are truncated to the
     *                          model's positions
     */
    public static ThreatModel of(OptConfig config, Split split, Map<String, HostTensor> pretrainedWeights,
                                 List<int[]> auxiliary, LossNormalisation lossNormalisation,
                                 WireDefence knownDefence) {
        Map<String, HostTensor> clientSide = new LinkedHashMap<>();
        List<String> missing = new ArrayList<>();
        for (String name : OptParameters.expectedShapes(config).keySet()) {
            if (!split.client().test(name)) {
                continue;
            }
            HostTensor t = pretrainedWeights.get(name);
            if (t == null) {
                missing.add(name);
            } else {
                clientSide.put(name, new HostTensor(t.shape().clone(), t.data().clone()));
            }
        }
        if (!missing.isEmpty()) {
            throw new IllegalArgumentException("the threat model needs the pretrained client-side tensors; missing "
                    + missing);
        }
        List<int[]> aux = new ArrayList<>();
        for (int[] s : auxiliary) {
            if (s.length > 0) {
                aux.add(Arrays.copyOf(s, Math.min(s.length, config.maxPositionEmbeddings())));
            }
        }
        return new ThreatModel(config, split, OptModel.fromTensors(config, clientSide), List.copyOf(aux),
                lossNormalisation, knownDefence);
    }

    public OptConfig config() {
        return config;
    }

    public Split split() {
        return split;
    }

    public List<int[]> auxiliary() {
        return auxiliary;
    }

    public LossNormalisation lossNormalisation() {
        return lossNormalisation;
    }

    public WireDefence knownDefence() {
        return knownDefence;
    }

    /** The pretrained client side; package-private so that only attacks read it. */
    OptModel pretrained() {
        return pretrained;
    }

    /** {@code W_E} [V, d]; the tied LM head. */
    NDArray embeddings() {
        return pretrained.parameter(OptParameters.EMBED_TOKENS);
    }

    /** {@code ‖W_E[v]‖²} [V], for nearest-embedding decoding. */
    NDArray embeddingSquaredNorms() {
        return embeddingSquaredNorms;
    }

    /** {@code f_in⁰}: the pretrained input adapter, from layer-0 input to {@code h_in}. */
    NDArray inputAdapter(NDArray layerInput, TokenBatch batch) {
        return pretrained.blocks(layerInput, batch, 0, split.k());
    }

    /** {@code f_out⁰}: the pretrained output adapter, final norm and head, from {@code h_out} to logits. */
    NDArray outputAdapter(NDArray hOut, TokenBatch batch) {
        return pretrained.head(pretrained.blocks(hOut, batch, split.trunkTo(), config.numHiddenLayers()));
    }

    /** A batch with the observed lengths (ids are placeholders: attacks feed embeddings, not ids). */
    TokenBatch batchFor(NDManager manager, long[] lengths) {
        List<int[]> placeholders = new ArrayList<>();
        for (long n : lengths) {
            int[] ids = new int[(int) n];
            Arrays.fill(ids, config.padTokenId());
            placeholders.add(ids);
        }
        return TokenBatch.of(manager, placeholders, null, config.padTokenId());
    }

    static NDArray toArray(NDManager manager, HostTensor t) {
        return manager.create(t.data(), new Shape(t.shape()));
    }

    /** Why the observation cannot be attacked with this threat model, or null if it can. */
    String problemWith(Observation o, boolean needsGradient) {
        if (o.hIn() == null) {
            return "no activation in the observation";
        }
        long[] shape = o.hIn().shape();
        if (shape.length != 3 || shape[0] == 0 || shape[1] == 0) {
            return "h_in has shape " + Arrays.toString(shape) + ", expected non-empty [B, T, d]";
        }
        if (shape[2] != config.hiddenSize()) {
            return "h_in has width " + shape[2] + ", the threat model's hidden size is " + config.hiddenSize();
        }
        if (shape[1] > config.maxPositionEmbeddings()) {
            return "sequence length " + shape[1] + " exceeds the model's " + config.maxPositionEmbeddings()
                    + " positions";
        }
        long[] lengths = o.lengths();
        if (lengths.length != shape[0]) {
            return lengths.length + " attention lengths for a batch of " + shape[0];
        }
        for (long n : lengths) {
            if (n < 1 || n > shape[1]) {
                return "attention length " + n + " outside 1.." + shape[1];
            }
        }
        if (needsGradient) {
            for (HostTensor t : new HostTensor[] {o.gOut(), o.hOut()}) {
                if (t == null || !Arrays.equals(t.shape(), shape)) {
                    return "g_out and h_out must both be present with h_in's shape " + Arrays.toString(shape);
                }
            }
        }
        return null;
    }

    /** The artefact cached under {@code key}, built once per threat model. */
    @SuppressWarnings("unchecked")
    synchronized <T extends AutoCloseable> T artefact(String key, Supplier<T> build) {
        return (T) artefacts.computeIfAbsent(key, k -> build.get());
    }

    @Override
    public synchronized void close() {
        for (AutoCloseable a : artefacts.values()) {
            try {
                a.close();
            } catch (Exception e) {
                throw new IllegalStateException("closing a cached attack artefact failed", e);
            }
        }
        artefacts.clear();
        pretrained.close();
    }
}
