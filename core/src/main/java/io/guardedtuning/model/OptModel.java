package io.guardedtuning.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.internal.NDArrayEx;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import io.guardedtuning.engine.DjlRuntime;
import io.guardedtuning.tensor.HostTensor;

import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Predicate;

/**
 * OPT's decoder in DJL, computed the way Hugging Face's {@code modeling_opt.py} computes it, with each stage
 * callable on its own: {@link #embed}, {@link #blocks} over any layer range, {@link #head}. Cutting the model into
 * bottom / trunk / top is therefore just calling these with different ranges on different machines.
 *
 * <p>A model may hold only some of the parameters (a server holds the trunk, a client the rest); a stage whose
 * parameters are absent fails with a message naming them. Intermediate arrays are attached to the manager of the
 * input they were computed from, so a per-step sub-manager frees them; parameters live in the model's manager.
 * Scalars inside the differentiated graph are long-lived arrays, never {@code Number}s (a DJL use-after-free).
 */
public final class OptModel implements AutoCloseable {

    private static final float LAYER_NORM_EPS = 1e-5f;
    private static final float INIT_STD = 0.02f;

    private final OptConfig config;
    private final NDManager manager;
    private final Map<String, NDArray> parameters;
    private final NDArray queryScale;
    private final NDArray scoreFloor;
    private final NDArray unitNormWeight;
    private final NDArray zeroNormBias;

    private OptModel(OptConfig config, NDManager manager, Map<String, NDArray> parameters) {
        this.config = config;
        this.manager = manager;
        this.parameters = parameters;
        this.queryScale = manager.create((float) Math.pow(config.headDim(), -0.5));
        this.scoreFloor = manager.create(-Float.MAX_VALUE);
        this.unitNormWeight = manager.ones(new Shape(config.hiddenSize()));
        this.zeroNormBias = manager.zeros(new Shape(config.hiddenSize()));
    }

    /** A model holding the given tensors (all or part of the checkpoint), checked against the config's shapes. */
    public static OptModel fromTensors(OptConfig config, Map<String, HostTensor> tensors) {
        Map<String, long[]> expected = OptParameters.expectedShapes(config);
        NDManager manager = DjlRuntime.newManager();
        Map<String, NDArray> params = new LinkedHashMap<>();
        try {
            for (Map.Entry<String, HostTensor> e : tensors.entrySet()) {
                String name = OptParameters.canonical(e.getKey());
                if (name == null) {
                    continue;
                }
                long[] shape = expected.get(name);
                if (shape == null) {
                    throw new IllegalArgumentException("tensor '" + e.getKey() + "' is not part of OPT with this config");
                }
                if (!java.util.Arrays.equals(shape, e.getValue().shape())) {
                    throw new IllegalArgumentException("tensor '" + name + "' has shape "
                            + java.util.Arrays.toString(e.getValue().shape()) + ", expected "
                            + java.util.Arrays.toString(shape));
                }
                NDArray a = manager.create(e.getValue().data(), new Shape(shape));
                a.setName(name);
                params.put(name, a);
            }
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
        return new OptModel(config, manager, params);
    }

    /** Hugging Face's initialisation: N(0, 0.02) for linear and embedding weights, zero biases, unit norms. */
    public static Map<String, HostTensor> randomTensors(OptConfig config, long seed, Predicate<String> keep) {
        SplittableRandom root = new SplittableRandom(seed);
        Map<String, HostTensor> out = new LinkedHashMap<>();
        for (Map.Entry<String, long[]> e : OptParameters.expectedShapes(config).entrySet()) {
            // One stream per tensor, so a part of the model is initialised identically to the same part of the whole.
            SplittableRandom rnd = root.split();
            if (!keep.test(e.getKey())) {
                continue;
            }
            String name = e.getKey();
            float[] data = new float[Math.toIntExact(HostTensor.numel(e.getValue()))];
            if (name.endsWith("layer_norm.weight")) {
                java.util.Arrays.fill(data, 1f);
            } else if (!name.endsWith(".bias")) {
                for (int i = 0; i < data.length; i++) {
                    data[i] = (float) gaussian(rnd) * INIT_STD;
                }
            }
            out.put(name, new HostTensor(e.getValue(), data));
        }
        return out;
    }

    public static OptModel random(OptConfig config, long seed) {
        return fromTensors(config, randomTensors(config, seed, n -> true));
    }

    /**
     * Random weights drawn by the engine, without a copy through Java memory: for benchmarks of large shapes
     * (OPT-1.3B is 5 GB in fp32). Not reproducible across engines; use {@link #random} where values matter.
     */
    public static OptModel randomNative(OptConfig config, int seed) {
        DjlRuntime.engine().setRandomSeed(seed);
        NDManager manager = DjlRuntime.newManager();
        Map<String, NDArray> params = new LinkedHashMap<>();
        for (Map.Entry<String, long[]> e : OptParameters.expectedShapes(config).entrySet()) {
            Shape shape = new Shape(e.getValue());
            String name = e.getKey();
            NDArray a = name.endsWith("layer_norm.weight") ? manager.ones(shape)
                    : name.endsWith(".bias") ? manager.zeros(shape) : manager.randomNormal(0f, INIT_STD, shape,
                    DataType.FLOAT32);
            a.setName(name);
            params.put(name, a);
        }
        return new OptModel(config, manager, params);
    }

    private static double gaussian(SplittableRandom rnd) {
        double u = rnd.nextDouble();
        double v = rnd.nextDouble();
        return Math.sqrt(-2 * Math.log1p(-u)) * Math.cos(2 * Math.PI * v);
    }

    public OptConfig config() {
        return config;
    }

    public NDManager manager() {
        return manager;
    }

    /** Parameters by HF name, in checkpoint order. */
    public Map<String, NDArray> parameters() {
        return java.util.Collections.unmodifiableMap(parameters);
    }

    public NDArray parameter(String name) {
        NDArray p = parameters.get(name);
        if (p == null) {
            throw new IllegalStateException("this model does not hold tensor '" + name + "'");
        }
        return p;
    }

    /** Turns gradient recording on for exactly the named parameters. */
    public void setTrainable(Collection<String> names) {
        for (String n : names) {
            parameter(n);
        }
        for (Map.Entry<String, NDArray> e : parameters.entrySet()) {
            e.getValue().setRequiresGradient(names.contains(e.getKey()));
        }
    }

    public List<String> trainableNames() {
        List<String> out = new ArrayList<>();
        parameters.forEach((n, a) -> {
            if (a.hasGradient()) {
                out.add(n);
            }
        });
        return out;
    }

    /** Copies the named parameters (all if {@code names} is null) out to Java memory. */
    public Map<String, HostTensor> toTensors(Predicate<String> keep) {
        Map<String, HostTensor> out = new LinkedHashMap<>();
        parameters.forEach((n, a) -> {
            if (keep.test(n)) {
                out.put(n, hostCopy(a));
            }
        });
        return out;
    }

    public static HostTensor hostCopy(NDArray a) {
        return new HostTensor(a.getShape().getShape(), a.toFloatArray());
    }

    /** Overwrites parameter values in place (keeps their gradient flag); used to install received adapters. */
    public void load(Map<String, HostTensor> tensors) {
        for (Map.Entry<String, HostTensor> e : tensors.entrySet()) {
            NDArray p = parameter(e.getKey());
            if (!java.util.Arrays.equals(p.getShape().getShape(), e.getValue().shape())) {
                throw new IllegalArgumentException("tensor '" + e.getKey() + "' has shape "
                        + java.util.Arrays.toString(e.getValue().shape()) + ", model expects " + p.getShape());
            }
            p.set(FloatBuffer.wrap(e.getValue().data()));
        }
    }

    // ---------------------------------------------------------------- forward stages

    /** Token embeddings only ({@code E(x)}, before project_in and positions): the input the dCor regulariser uses. */
    public NDArray tokenEmbeddings(TokenBatch batch) {
        batch.requireFits(config);
        NDArray ids = batch.inputIds();
        return ex(ids).embedding(ids, parameter(OptParameters.EMBED_TOKENS), SparseFormat.DENSE).singletonOrThrow();
    }

    /** Token embeddings (projected in if needed) plus learned positions: the input of layer 0, [B, T, hidden]. */
    public NDArray embed(TokenBatch batch) {
        return embedFrom(tokenEmbeddings(batch), batch);
    }

    /**
     * The input of layer 0 from given token embeddings [B, T, word_embed_proj_dim] instead of ids: attacks optimise
     * soft or continuous embeddings through the bottom.
     */
    public NDArray embedFrom(NDArray tokenEmbeddings, TokenBatch batch) {
        NDArray tokens = tokenEmbeddings;
        if (config.hasProjections()) {
            tokens = linear(tokens, parameter(OptParameters.PROJECT_IN), null);
        }
        batch.requireFits(config);
        NDArray pos = batch.positions();
        NDArray positions = ex(pos).embedding(pos, parameter(OptParameters.EMBED_POSITIONS), SparseFormat.DENSE)
                .singletonOrThrow();
        return tokens.add(positions);
    }

    /** Runs decoder layers {@code [from, to)} on hidden states. */
    public NDArray blocks(NDArray hidden, TokenBatch batch, int from, int to) {
        if (from < 0 || to > config.numHiddenLayers() || from > to) {
            throw new IllegalArgumentException("layer range [" + from + ", " + to + ") is outside 0.."
                    + config.numHiddenLayers());
        }
        NDArray h = hidden;
        for (int i = from; i < to; i++) {
            h = layer(h, batch.additiveMask(), i);
        }
        return h;
    }

    /** Final layer norm, project_out and the LM head tied to the token embedding: logits [B, T, vocab]. */
    public NDArray head(NDArray hidden) {
        NDArray h = hidden;
        if (config.hasFinalLayerNorm()) {
            h = layerNorm(h, OptParameters.FINAL_NORM);
        }
        if (config.hasProjections()) {
            h = linear(h, parameter(OptParameters.PROJECT_OUT), null);
        }
        return linear(h, parameter(OptParameters.EMBED_TOKENS), null);
    }

    public NDArray logits(TokenBatch batch) {
        return head(blocks(embed(batch), batch, 0, config.numHiddenLayers()));
    }

    private NDArray layer(NDArray x, NDArray additiveMask, int index) {
        String p = OptParameters.layer(index);
        if (config.doLayerNormBefore()) {
            NDArray h = x.add(attention(layerNorm(x, p + "self_attn_layer_norm."), additiveMask, p));
            return h.add(feedForward(layerNorm(h, p + "final_layer_norm."), p));
        }
        NDArray h = layerNorm(x.add(attention(x, additiveMask, p)), p + "self_attn_layer_norm.");
        return layerNorm(h.add(feedForward(h, p)), p + "final_layer_norm.");
    }

    private NDArray attention(NDArray x, NDArray additiveMask, String p) {
        Shape s = x.getShape();
        long b = s.get(0);
        long t = s.get(1);
        int heads = config.numAttentionHeads();
        int hd = config.headDim();
        String a = p + "self_attn.";
        NDArray q = splitHeads(linear(x, parameter(a + "q_proj.weight"), bias(a + "q_proj.bias")).mul(queryScale),
                b, t, heads, hd);
        NDArray k = splitHeads(linear(x, parameter(a + "k_proj.weight"), bias(a + "k_proj.bias")), b, t, heads, hd);
        NDArray v = splitHeads(linear(x, parameter(a + "v_proj.weight"), bias(a + "v_proj.bias")), b, t, heads, hd);
        // HF adds causal and padding masks, then clamps at fp32's lowest value: a fully masked row stays finite
        // and its softmax is uniform instead of NaN.
        NDArray scores = q.matMul(k.transpose(0, 1, 3, 2)).add(additiveMask).maximum(scoreFloor);
        NDArray context = scores.softmax(-1).matMul(v).transpose(0, 2, 1, 3).reshape(b, t, (long) heads * hd);
        return linear(context, parameter(a + "out_proj.weight"), bias(a + "out_proj.bias"));
    }

    private static NDArray splitHeads(NDArray x, long b, long t, int heads, int hd) {
        return x.reshape(b, t, heads, hd).transpose(0, 2, 1, 3);
    }

    private NDArray feedForward(NDArray x, String p) {
        NDArray h = linear(x, parameter(p + "fc1.weight"), bias(p + "fc1.bias"));
        h = ex(h).relu();
        return linear(h, parameter(p + "fc2.weight"), bias(p + "fc2.bias"));
    }

    private NDArray layerNorm(NDArray x, String prefix) {
        NDArray gamma = config.layerNormElementwiseAffine() ? parameter(prefix + "weight") : unitNormWeight;
        NDArray beta = config.layerNormElementwiseAffine() ? parameter(prefix + "bias") : zeroNormBias;
        return ex(x).layerNorm(x, new Shape(config.hiddenSize()), gamma, beta, LAYER_NORM_EPS).singletonOrThrow();
    }

    private NDArray bias(String name) {
        return config.enableBias() ? parameter(name) : null;
    }

    private static NDArray linear(NDArray x, NDArray weight, NDArray bias) {
        return ex(x).linear(x, weight, bias).singletonOrThrow();
    }

    private static NDArrayEx ex(NDArray a) {
        return a.getNDArrayInternal();
    }

    /** The number of parameters held. */
    public long parameterCount() {
        long n = 0;
        for (NDArray a : parameters.values()) {
            n += a.size();
        }
        return n;
    }

    public static DataType dtype() {
        return DataType.FLOAT32;
    }

    @Override
    public void close() {
        manager.close();
    }
}
