package io.guardedtuning.model;

import io.guardedtuning.tensor.HostTensor;

import java.util.Map;

/**
 * A deliberately naive, loop-by-loop OPT forward for one unpadded sequence, written from the published equations
 * and independent of DJL, to check the engine-backed model against.
 */
final class ReferenceOpt {

    private final OptConfig c;
    private final Map<String, HostTensor> w;

    ReferenceOpt(OptConfig c, Map<String, HostTensor> w) {
        this.c = c;
        this.w = w;
    }

    float[][] logits(int[] ids) {
        int t = ids.length;
        int h = c.hiddenSize();
        float[][] x = new float[t][];
        for (int i = 0; i < t; i++) {
            float[] tok = row(OptParameters.EMBED_TOKENS, ids[i]);
            if (c.hasProjections()) {
                tok = matVec(OptParameters.PROJECT_IN, null, tok);
            }
            float[] pos = row(OptParameters.EMBED_POSITIONS, i + 2);
            x[i] = new float[h];
            for (int j = 0; j < h; j++) {
                x[i][j] = tok[j] + pos[j];
            }
        }
        for (int l = 0; l < c.numHiddenLayers(); l++) {
            String p = OptParameters.layer(l);
            if (c.doLayerNormBefore()) {
                x = add(x, attention(norm(x, p + "self_attn_layer_norm."), p));
                x = add(x, ffn(norm(x, p + "final_layer_norm."), p));
            } else {
                x = norm(add(x, attention(x, p)), p + "self_attn_layer_norm.");
                x = norm(add(x, ffn(x, p)), p + "final_layer_norm.");
            }
        }
        if (c.hasFinalLayerNorm()) {
            x = norm(x, OptParameters.FINAL_NORM);
        }
        float[][] out = new float[t][];
        for (int i = 0; i < t; i++) {
            float[] v = c.hasProjections() ? matVec(OptParameters.PROJECT_OUT, null, x[i]) : x[i];
            out[i] = matVec(OptParameters.EMBED_TOKENS, null, v);
        }
        return out;
    }

    private float[][] attention(float[][] x, String p) {
        int t = x.length;
        int heads = c.numAttentionHeads();
        int hd = c.headDim();
        String a = p + "self_attn.";
        float[][] q = new float[t][], k = new float[t][], v = new float[t][];
        double scale = Math.pow(hd, -0.5);
        for (int i = 0; i < t; i++) {
            q[i] = matVec(a + "q_proj.weight", a + "q_proj.bias", x[i]);
            for (int j = 0; j < q[i].length; j++) {
                q[i][j] *= scale;
            }
            k[i] = matVec(a + "k_proj.weight", a + "k_proj.bias", x[i]);
            v[i] = matVec(a + "v_proj.weight", a + "v_proj.bias", x[i]);
        }
        float[][] ctx = new float[t][c.hiddenSize()];
        for (int hIdx = 0; hIdx < heads; hIdx++) {
            for (int i = 0; i < t; i++) {
                double[] s = new double[i + 1];
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j <= i; j++) {
                    double dot = 0;
                    for (int d = 0; d < hd; d++) {
                        dot += q[i][hIdx * hd + d] * k[j][hIdx * hd + d];
                    }
                    s[j] = dot;
                    max = Math.max(max, dot);
                }
                double sum = 0;
                for (int j = 0; j <= i; j++) {
                    s[j] = Math.exp(s[j] - max);
                    sum += s[j];
                }
                for (int j = 0; j <= i; j++) {
                    for (int d = 0; d < hd; d++) {
                        ctx[i][hIdx * hd + d] += (float) (s[j] / sum * v[j][hIdx * hd + d]);
                    }
                }
            }
        }
        float[][] out = new float[t][];
        for (int i = 0; i < t; i++) {
            out[i] = matVec(a + "out_proj.weight", a + "out_proj.bias", ctx[i]);
        }
        return out;
    }

    private float[][] ffn(float[][] x, String p) {
        float[][] out = new float[x.length][];
        for (int i = 0; i < x.length; i++) {
            float[] hidden = matVec(p + "fc1.weight", p + "fc1.bias", x[i]);
            for (int j = 0; j < hidden.length; j++) {
                hidden[j] = Math.max(0f, hidden[j]);
            }
            out[i] = matVec(p + "fc2.weight", p + "fc2.bias", hidden);
        }
        return out;
    }

    private float[][] norm(float[][] x, String prefix) {
        float[] g = w.get(prefix + "weight").data();
        float[] b = w.get(prefix + "bias").data();
        float[][] out = new float[x.length][];
        for (int i = 0; i < x.length; i++) {
            double mean = 0;
            for (float f : x[i]) {
                mean += f;
            }
            mean /= x[i].length;
            double var = 0;
            for (float f : x[i]) {
                var += (f - mean) * (f - mean);
            }
            var /= x[i].length;
            out[i] = new float[x[i].length];
            for (int j = 0; j < x[i].length; j++) {
                out[i][j] = (float) ((x[i][j] - mean) / Math.sqrt(var + 1e-5) * g[j] + b[j]);
            }
        }
        return out;
    }

    private static float[][] add(float[][] a, float[][] b) {
        float[][] out = new float[a.length][a[0].length];
        for (int i = 0; i < a.length; i++) {
            for (int j = 0; j < a[i].length; j++) {
                out[i][j] = a[i][j] + b[i][j];
            }
        }
        return out;
    }

    private float[] row(String name, int r) {
        HostTensor t = w.get(name);
        int cols = (int) t.shape()[1];
        float[] out = new float[cols];
        System.arraycopy(t.data(), r * cols, out, 0, cols);
        return out;
    }

    /** y = W x + b with W stored [out, in], as PyTorch's Linear stores it. */
    private float[] matVec(String weight, String bias, float[] x) {
        HostTensor t = w.get(weight);
        int out = (int) t.shape()[0];
        int in = (int) t.shape()[1];
        float[] y = new float[out];
        float[] b = bias == null ? null : w.get(bias).data();
        for (int o = 0; o < out; o++) {
            double s = b == null ? 0 : b[o];
            for (int i = 0; i < in; i++) {
                s += t.data()[o * in + i] * x[i];
            }
            y[o] = (float) s;
        }
        return y;
    }
}
