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
import io.guardedtuning.privacy.PrivacyWarmup;
import io.guardedtuning.tensor.HostTensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * What the honest-but-curious server knows (semi-white-box): the architecture and split, the <em>pretrained</em>
 * client-side weights it shipped (embeddings, positions, both adapters, final norm; the head is tied to the
 * embeddings), public auxiliary token sequences, how the client normalises its loss, and the wire defences it knows
 * about. It never holds the client's fine-tuned weights or data: it is built from a snapshot of a pretrained
 * checkpoint, copied into its own model, and accepts no live {@link OptModel}, so later fine-tuning cannot reach it.
 *
 * <p>The provider also owns its backbone; when the checkpoint given holds it, the threat model keeps a copy so that
 * adaptive attacks can tune <em>shadow</em> adapters on public text under a known defence (never on the client's).
 *
 * <p>Expensive artefacts (trained inverters, shadow adapters) are cached here, at most {@link #MAX_ARTEFACTS} (the
 * least recently used is closed first), and closed with it.
 */
public final class ThreatModel implements AutoCloseable {

    /** How the client's causal-LM loss is normalised; gradient matching must use the same N. */
    public enum LossNormalisation {
        /** Mean over all counted next-token targets of the batch ({@code LmLoss.mean}). */
        MEAN_OVER_TARGETS,
        /** Plain sum over targets. */
        SUM
    }

    /** Bound on cached inverters and shadow adapters (one per defence setting and attack). */
    static final int MAX_ARTEFACTS = 24;

    private final OptConfig config;
    private final Split split;
    private final OptModel pretrained;
    private final Map<String, HostTensor> backbone;
    private final List<int[]> auxiliary;
    private final BitSet auxiliaryVocabulary;
    private final LossNormalisation lossNormalisation;
    private final WireDefence knownDefence;
    private final Function<PrivacyWarmup.Recipe, List<int[]>> warmupText;
    private final NDArray embeddingSquaredNorms;
    private final Map<String, AutoCloseable> artefacts = new LinkedHashMap<>(16, 0.75f, true);

    private ThreatModel(OptConfig config, Split split, OptModel pretrained, Map<String, HostTensor> backbone,
                        List<int[]> auxiliary, LossNormalisation lossNormalisation, WireDefence knownDefence,
                        Function<PrivacyWarmup.Recipe, List<int[]>> warmupText) {
        this.config = config;
        this.split = split;
        this.pretrained = pretrained;
        this.backbone = backbone;
        this.auxiliary = auxiliary;
        this.auxiliaryVocabulary = PublicText.vocabulary(auxiliary);
        this.lossNormalisation = lossNormalisation;
        this.knownDefence = knownDefence;
        this.warmupText = warmupText;
        this.embeddingSquaredNorms = DjlRuntime.withoutGradients(
                () -> embeddings().square().sum(new int[] {1}));
    }

    /**
     * @param pretrainedWeights the pretrained checkpoint (whole, or at least its client side), copied; the backbone
     *                          part, when whole, is the provider's own and serves only shadow tuning
     * @param auxiliary         public token sequences unlike the client's (for SIP); longer ones are truncated to the
     *                          model's positions
     */
    public static ThreatModel of(OptConfig config, Split split, Map<String, HostTensor> pretrainedWeights,
                                 List<int[]> auxiliary, LossNormalisation lossNormalisation,
                                 WireDefence knownDefence) {
        return of(config, split, pretrainedWeights, auxiliary, lossNormalisation, knownDefence, null);
    }

    /**
     * @param warmupText the public text an announced privacy warm-up trains on, from the rows it announces
     *                   ({@link PublicText#warmupHalves}), so that shadows replay the client's warm-up on the same
     *                   text; null when the provider has no copy of that text (the auxiliary text stands in)
     */
    public static ThreatModel of(OptConfig config, Split split, Map<String, HostTensor> pretrainedWeights,
                                 List<int[]> auxiliary, LossNormalisation lossNormalisation,
                                 WireDefence knownDefence, Function<PrivacyWarmup.Recipe, List<int[]>> warmupText) {
        Map<String, HostTensor> clientSide = new LinkedHashMap<>();
        Map<String, HostTensor> backbone = new LinkedHashMap<>();
        List<String> missing = new ArrayList<>();
        for (String name : OptParameters.expectedShapes(config).keySet()) {
            HostTensor t = pretrainedWeights.get(name);
            if (t == null) {
                if (split.client().test(name)) {
                    missing.add(name);
                }
            } else {
                (split.client().test(name) ? clientSide : backbone).put(name,
                        new HostTensor(t.shape().clone(), t.data().clone()));
            }
        }
        if (backbone.size() != OptParameters.expectedShapes(config).size() - clientSide.size() - missing.size()) {
            backbone.clear(); // a partial backbone cannot run: shadow tuning is then unavailable
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
        return new ThreatModel(config, split, OptModel.fromTensors(config, clientSide), Map.copyOf(backbone),
                List.copyOf(aux), lossNormalisation, knownDefence, warmupText);
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

    /**
     * The token ids present in the auxiliary text: an inverter trained on it can output only these, so a client
     * reports the share of its audited ids in this set beside each score.
     */
    /** The text a shadow replays {@code recipe}'s warm-up on: the announced rows, or the auxiliary text. */
    public List<int[]> warmupText(PrivacyWarmup.Recipe recipe) {
        return warmupText == null || recipe.publicRows() == 0 ? auxiliary : warmupText.apply(recipe);
    }

    public BitSet auxiliaryVocabulary() {
        return (BitSet) auxiliaryVocabulary.clone();
    }

    /** Whether the provider's backbone came with the checkpoint, so that shadow adapters can be tuned. */
    public boolean hasBackbone() {
        return !backbone.isEmpty();
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

    /** A fresh whole model from the pretrained weights (client side and backbone), for shadow tuning; caller closes. */
    OptModel freshWholeModel() {
        return freshWholeModel(pretrained.toTensors(split.client()));
    }

    /** A fresh whole model: {@code clientSide} before the provider's backbone, for shadow tuning; caller closes. */
    OptModel freshWholeModel(Map<String, HostTensor> clientSide) {
        if (backbone.isEmpty()) {
            throw new IllegalStateException("shadow tuning needs the provider's backbone in the threat model");
        }
        Map<String, HostTensor> whole = new LinkedHashMap<>(clientSide);
        whole.putAll(backbone);
        return OptModel.fromTensors(config, whole);
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

    /** The pretrained input adapter's {@code h_in} of a batch's tokens. */
    NDArray pretrainedHIn(TokenBatch batch) {
        return inputAdapter(pretrained.embed(batch), batch);
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

    /**
     * The artefact cached under {@code key}, built on first use; past {@link #MAX_ARTEFACTS} the least recently used
     * one is closed. Attacks use an artefact within one call, on one thread, so eviction never hits one in use.
     */
    @SuppressWarnings("unchecked")
    synchronized <T extends AutoCloseable> T artefact(String key, Supplier<T> build) {
        AutoCloseable cached = artefacts.get(key);
        if (cached != null) {
            return (T) cached;
        }
        T built = build.get();
        artefacts.put(key, built);
        Iterator<AutoCloseable> eldest = artefacts.values().iterator();
        while (artefacts.size() > MAX_ARTEFACTS) {
            closeArtefact(eldest.next());
            eldest.remove();
        }
        return built;
    }

    private static void closeArtefact(AutoCloseable a) {
        try {
            a.close();
        } catch (Exception e) {
            throw new IllegalStateException("closing a cached attack artefact failed", e);
        }
    }

    @Override
    public synchronized void close() {
        artefacts.values().forEach(ThreatModel::closeArtefact);
        artefacts.clear();
        pretrained.close();
    }
}
