package io.guardedtuning.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import io.guardedtuning.engine.DjlRuntime;
import io.guardedtuning.tensor.HostTensor;
import io.guardedtuning.train.LmLoss;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class OptModelTest {

    /** Weights far from the N(0, 0.02) init so that every path carries signal a bug would disturb. */
    static Map<String, HostTensor> livelyWeights(OptConfig c, long seed) {
        Random r = new Random(seed);
        Map<String, HostTensor> out = new LinkedHashMap<>();
        OptParameters.expectedShapes(c).forEach((name, shape) -> {
            float[] d = new float[(int) HostTensor.numel(shape)];
            for (int i = 0; i < d.length; i++) {
                d[i] = name.endsWith("layer_norm.weight") ? 1f + 0.2f * (float) r.nextGaussian()
                        : (float) r.nextGaussian() * 0.3f;
            }
            out.put(name, new HostTensor(shape, d));
        });
        return out;
    }

    private static int[] randomIds(Random r, int n, int vocab) {
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) {
            ids[i] = 3 + r.nextInt(vocab - 3);
        }
        return ids;
    }

    private static float[] logits(OptModel m, List<int[]> seqs) {
        return DjlRuntime.withoutGradients(() -> {
            try (NDManager s = DjlRuntime.newManager(); TokenBatch b = TokenBatch.of(s, seqs, null, 1)) {
                return m.logits(b).toFloatArray();
            }
        });
    }

    @Test
    void matchesAnIndependentLoopImplementationForBothLayerNormVariants() {
        for (OptConfig c : List.of(TinyConfigs.preLayerNorm(), TinyConfigs.postLayerNormProjected())) {
            Map<String, HostTensor> w = livelyWeights(c, 7);
            int[] ids = randomIds(new Random(1), 9, c.vocabSize());
            try (OptModel m = OptModel.fromTensors(c, w)) {
                float[] got = logits(m, List.of(ids));
                float[][] want = new ReferenceOpt(c, w).logits(ids);
                for (int t = 0; t < ids.length; t++) {
                    for (int v = 0; v < c.vocabSize(); v++) {
                        float g = got[t * c.vocabSize() + v];
                        assertEquals(want[t][v], g, 2e-4 * Math.max(1, Math.abs(want[t][v])),
                                "logit at position " + t + ", token " + v + " (doLayerNormBefore="
                                        + c.doLayerNormBefore() + ")");
                    }
                }
            }
        }
    }

    @Test
    void changingTokenTNeverChangesOutputsBeforeT() {
        OptConfig c = TinyConfigs.preLayerNorm();
        Random r = new Random(3);
        try (OptModel m = OptModel.fromTensors(c, livelyWeights(c, 11))) {
            int[] ids = randomIds(r, 12, c.vocabSize());
            float[] base = logits(m, List.of(ids));
            for (int t : new int[] {0, 5, 11}) {
                int[] changed = ids.clone();
                changed[t] = 3 + (changed[t] - 3 + 17) % (c.vocabSize() - 3);
                float[] out = logits(m, List.of(changed));
                int v = c.vocabSize();
                for (int i = 0; i < t * v; i++) {
                    assertEquals(base[i], out[i], 0f, "output before position " + t + " changed");
                }
                boolean later = false;
                for (int i = t * v; i < ids.length * v; i++) {
                    later |= base[i] != out[i];
                }
                assertTrue(later, "changing token " + t + " must change its own or later outputs");
            }
        }
    }

    @Test
    void paddingDoesNotChangeRealTokens() {
        OptConfig c = TinyConfigs.preLayerNorm();
        try (OptModel m = OptModel.fromTensors(c, livelyWeights(c, 5))) {
            int[] shortSeq = randomIds(new Random(2), 5, c.vocabSize());
            int[] longSeq = randomIds(new Random(4), 10, c.vocabSize());
            float[] alone = logits(m, List.of(shortSeq));
            float[] padded = logits(m, List.of(shortSeq, longSeq));
            for (int i = 0; i < alone.length; i++) {
                assertEquals(alone[i], padded[i], 1e-4f);
            }
        }
    }

    @Test
    void layerRangesComposeToTheFullForward() {
        OptConfig c = TinyConfigs.preLayerNorm();
        List<int[]> seqs = List.of(randomIds(new Random(8), 7, c.vocabSize()), randomIds(new Random(9), 4,
                c.vocabSize()));
        try (OptModel m = OptModel.fromTensors(c, livelyWeights(c, 13))) {
            float[] full = logits(m, seqs);
            float[] composed = DjlRuntime.withoutGradients(() -> {
                try (NDManager s = DjlRuntime.newManager(); TokenBatch b = TokenBatch.of(s, seqs, null, 1)) {
                    NDArray h = m.embed(b);
                    h = m.blocks(h, b, 0, 2);
                    h = m.blocks(h, b, 2, 2);
                    h = m.blocks(h, b, 2, 5);
                    h = m.blocks(h, b, 5, 6);
                    return m.head(h).toFloatArray();
                }
            });
            assertArrayEquals(full, composed, 0f);
        }
    }

    @Test
    void rejectsLayerRangesOutsideTheModelAndMissingParts() {
        OptConfig c = TinyConfigs.preLayerNorm();
        Split split = Split.of(2, c);
        try (OptModel server = OptModel.fromTensors(c, OptModel.randomTensors(c, 1, split.backbone()));
             NDManager s = DjlRuntime.newManager();
             TokenBatch b = TokenBatch.of(s, List.of(new int[] {4, 5}), null, 1)) {
            NDArray h = s.zeros(new ai.djl.ndarray.types.Shape(1, 2, c.hiddenSize()));
            assertThrows(IllegalArgumentException.class, () -> server.blocks(h, b, 0, 7));
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> server.embed(b));
            assertTrue(e.getMessage().contains("embed_tokens"), e.getMessage());
            assertEquals(2 * OptParameters.layerShapes(c, 0).size(), server.parameters().size());
        }
    }

    /**
     * The contract the Online design relies on: bottom, trunk and top run apart, with activations and upstream
     * gradients passed by hand as the wire would, give the monolithic model's parameter gradients.
     */
    @Test
    void splitGradientsEqualMonolithicGradients() {
        OptConfig c = TinyConfigs.preLayerNorm();
        Split split = Split.of(2, c);
        Map<String, HostTensor> w = livelyWeights(c, 21);
        List<int[]> seqs = List.of(randomIds(new Random(5), 8, c.vocabSize()), randomIds(new Random(6), 6,
                c.vocabSize()));

        Map<String, float[]> monolithic = new LinkedHashMap<>();
        try (OptModel m = OptModel.fromTensors(c, w)) {
            m.setTrainable(m.parameters().keySet());
            try (NDManager s = DjlRuntime.newManager(); TokenBatch b = TokenBatch.of(s, seqs, null, 1);
                 GradientCollector gc = DjlRuntime.gradientCollector()) {
                gc.backward(LmLoss.mean(m.logits(b), b));
            }
            m.parameters().forEach((n, p) -> {
                try (NDArray g = p.getGradient()) {
                    monolithic.put(n, g.toFloatArray());
                }
            });
        }

        Map<String, float[]> separate = new LinkedHashMap<>();
        try (OptModel client = OptModel.fromTensors(c, HostTensor.select(w, split.client()));
             OptModel server = OptModel.fromTensors(c, HostTensor.select(w, split.backbone()));
             NDManager s = DjlRuntime.newManager(); TokenBatch b = TokenBatch.of(s, seqs, null, 1)) {
            client.setTrainable(client.parameters().keySet());
            server.setTrainable(server.parameters().keySet());
            float[] hIn;
            float[] gOut;
            float[] gIn;
            NDArray hInClient;
            ai.djl.ndarray.types.Shape shape;
            // 1. client bottom
            try (GradientCollector gc = DjlRuntime.gradientCollector()) {
                hInClient = client.blocks(client.embed(b), b, 0, split.k());
                hIn = hInClient.toFloatArray();
                shape = hInClient.getShape();
            }
            // 2. server trunk forward and 3. client top with loss
            NDArray hInServer = s.create(hIn, shape);
            hInServer.setRequiresGradient(true);
            NDArray hOutServer;
            try (GradientCollector gc = DjlRuntime.gradientCollector()) {
                hOutServer = server.blocks(hInServer, b, split.trunkFrom(), split.trunkTo());
            }
            NDArray hOutClient = s.create(hOutServer.toFloatArray(), shape);
            hOutClient.setRequiresGradient(true);
            try (GradientCollector gc = DjlRuntime.gradientCollector()) {
                NDArray top = client.head(client.blocks(hOutClient, b, split.trunkTo(), c.numHiddenLayers()));
                gc.backward(LmLoss.mean(top, b));
                gOut = hOutClient.getGradient().toFloatArray();
            }
            // 4. server backward from the received upstream gradient, then client bottom backward
            JniUtils.backward((PtNDArray) hOutServer, (PtNDArray) s.create(gOut, shape), false, false);
            gIn = hInServer.getGradient().toFloatArray();
            JniUtils.backward((PtNDArray) hInClient, (PtNDArray) s.create(gIn, shape), false, false);
            for (OptModel part : List.of(client, server)) {
                part.parameters().forEach((n, p) -> {
                    try (NDArray g = p.getGradient()) {
                        separate.put(n, g.toFloatArray());
                    }
                });
            }
        }

        assertEquals(new java.util.TreeSet<>(monolithic.keySet()), new java.util.TreeSet<>(separate.keySet()));
        for (Map.Entry<String, float[]> e : monolithic.entrySet()) {
            float[] got = separate.get(e.getKey());
            float[] want = e.getValue();
            double norm = 0;
            for (float f : want) {
                norm += f * f;
            }
            assertTrue(norm > 0 || e.getKey().contains("embed_positions"), "no gradient reached " + e.getKey());
            for (int i = 0; i < want.length; i++) {
                assertEquals(want[i], got[i], 1e-5f, e.getKey() + "[" + i + "]");
            }
        }
    }

    @Test
    void randomInitOfAPartEqualsThatPartOfTheWhole() {
        OptConfig c = TinyConfigs.preLayerNorm();
        Split split = Split.of(2, c);
        Map<String, HostTensor> whole = OptModel.randomTensors(c, 42, n -> true);
        Map<String, HostTensor> part = OptModel.randomTensors(c, 42, split.backbone());
        assertEquals(HostTensor.select(whole, split.backbone()), part);
        List<String> names = new ArrayList<>(part.keySet());
        assertTrue(names.get(0).contains("layers.2."), names.get(0));
    }
}
