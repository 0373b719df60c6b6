package io.guardedtuning.offline;

import ai.djl.ndarray.NDManager;
import io.guardedtuning.engine.DjlRuntime;
import io.guardedtuning.eval.Perplexity;
import io.guardedtuning.model.OptConfig;
import io.guardedtuning.model.OptModel;
import io.guardedtuning.model.Split;
import io.guardedtuning.model.TokenBatch;
import io.guardedtuning.tensor.HostTensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class EmulatorTest {

    private static final OptConfig CONFIG = TinyOffline.config();
    private static final Split SPLIT = Split.of(1, CONFIG);
    private static final EmulatorLayout LAYOUT = EmulatorLayout.uniform(SPLIT, 2);
    private static final byte[] PROVIDER_KEY = "provider-watermark-key-of-32-bytes-at-least".getBytes();

    @Test
    void emulatorKeepsAdaptersAndDroppedMiddleAndAnUndroppedEmulatorIsTheFullModel() {
        Map<String, HostTensor> full = OptModel.randomTensors(CONFIG, 1, n -> true);
        EmulatorBuilder.Emulator e = EmulatorBuilder.build(CONFIG, full, LAYOUT);
        assertEquals(4, e.config().numHiddenLayers());
        String kept = io.guardedtuning.model.OptParameters.layer(2) + "fc1.weight";
        assertEquals(full.get(io.guardedtuning.model.OptParameters.layer(4) + "fc1.weight"), e.tensors().get(kept));
        assertEquals(full.get(io.guardedtuning.model.OptParameters.layer(5) + "fc2.bias"),
                e.tensors().get(io.guardedtuning.model.OptParameters.layer(3) + "fc2.bias"));

        EmulatorBuilder.Emulator whole = EmulatorBuilder.build(CONFIG, full, EmulatorLayout.uniform(SPLIT, 4));
        List<int[]> text = TinyOffline.publicText(2, 12, 0);
        try (OptModel fullModel = OptModel.fromTensors(CONFIG, full); OptModel emulator = whole.toModel()) {
            assertEquals(0.0, maxLogitDifference(fullModel, emulator, text), 0.0);
        }
    }

    @Test
    void distillationLowersTheKdLoss() throws Exception {
        List<int[]> train = TinyOffline.publicText(16, 16, 0);
        List<int[]> heldOut = TinyOffline.publicText(4, 16, 3);
        try (OptModel full = OptModel.random(CONFIG, 2);
             OptModel emulator = EmulatorBuilder.build(full, LAYOUT).toModel()) {
            Distiller d = new Distiller(full, emulator, LAYOUT, train,
                    new Distiller.Settings(25, 4, 3e-3f, 2, 30f, 0));
            double before = d.kdLoss(heldOut);
            Distiller.Result r = d.run(null, () -> false, p -> { });
            double after = d.kdLoss(heldOut);
            assertEquals(25, r.stepsDone());
            assertTrue(after < 0.7 * before, "KD " + before + " -> " + after);
            Map<String, HostTensor> fullAdapters = full.toTensors(SPLIT.adapters());
            assertEquals(LAYOUT.adaptersToEmulator(fullAdapters),
                    emulator.toTensors(LAYOUT.emulatorSplit().adapters()), "only the middle trains");
        }
    }

    @Test
    void distillationResumedFromItsCheckpointEndsWhereAnUninterruptedRunEnds(@TempDir Path dir) throws Exception {
        List<int[]> train = TinyOffline.publicText(12, 16, 0);
        Distiller.Settings settings = new Distiller.Settings(6, 4, 3e-3f, 2, 30f, 3);
        try (OptModel full = OptModel.random(CONFIG, 3)) {
            Map<String, HostTensor> uninterrupted;
            try (OptModel emulator = EmulatorBuilder.build(full, LAYOUT).toModel()) {
                new Distiller(full, emulator, LAYOUT, train, settings).run(null, () -> false, p -> { });
                uninterrupted = emulator.toTensors(LAYOUT.emulatorMiddle());
            }
            Path checkpoint = dir.resolve("job");
            try (OptModel emulator = EmulatorBuilder.build(full, LAYOUT).toModel()) {
                int[] steps = {0};
                Distiller.Result cut = new Distiller(full, emulator, LAYOUT, train, settings)
                        .run(checkpoint, () -> steps[0] >= 4, p -> steps[0]++);
                assertTrue(cut.cancelled());
                assertEquals(4, cut.stepsDone());
            }
            try (OptModel restarted = EmulatorBuilder.build(full, LAYOUT).toModel()) {
                Distiller.Result resumed = new Distiller(full, restarted, LAYOUT, train, settings)
                        .run(checkpoint, () -> false, p -> { });
                assertEquals(3, resumed.resumedFrom());
                assertEquals(6, resumed.stepsDone());
                Map<String, HostTensor> result = restarted.toTensors(LAYOUT.emulatorMiddle());
                result.forEach((name, t) -> assertTrue(maxDifference(t, uninterrupted.get(name)) < 1e-6, name));
            }
        }
    }

    @Test
    void watermarkNamesTheLeakingSessionAndBarelyMovesTheLogits() {
        Map<String, HostTensor> full = OptModel.randomTensors(CONFIG, 4, n -> true);
        EmulatorBuilder.Emulator emulator = EmulatorBuilder.build(CONFIG, full, LAYOUT);
        Watermark watermark = new Watermark(PROVIDER_KEY, LAYOUT);
        List<String> sessions = List.of("alice", "bob", "carol", "dave");
        Map<String, HostTensor> leaked = watermark.apply(emulator.tensors(), "carol");

        Watermark.Identification id = watermark.identify(leaked, emulator.tensors(), sessions);
        assertEquals("carol", id.session().orElseThrow(), id.scores().toString());
        id.scores().forEach((s, z) -> assertTrue(s.equals("carol") || Math.abs(z) < 5, id.scores().toString()));
        assertTrue(watermark.identify(emulator.tensors(), emulator.tensors(), sessions).session().isEmpty());
        assertTrue(watermark.identify(watermark.apply(emulator.tensors(), "erin"), emulator.tensors(), sessions)
                .session().isEmpty(), "a session outside the candidates is not blamed on one of them");
        Watermark otherKey = new Watermark("another-providers-key-of-32-bytes-or-more".getBytes(), LAYOUT);
        assertTrue(otherKey.identify(leaked, emulator.tensors(), sessions).session().isEmpty());

        // Noise as large as the mark itself (e.g. re-quantisation) still leaves it detectable.
        assertEquals("carol", watermark.identify(addNoise(leaked, emulator.tensors()), emulator.tensors(), sessions)
                .session().orElseThrow());

        List<int[]> text = TinyOffline.publicText(4, 16, 1);
        try (OptModel plain = emulator.toModel();
             OptModel marked = OptModel.fromTensors(emulator.config(), leaked)) {
            double logitRange = DjlRuntime.withoutGradients(() -> {
                try (NDManager scope = DjlRuntime.newManager();
                     TokenBatch b = TokenBatch.of(scope, text, null, CONFIG.padTokenId())) {
                    return (double) plain.logits(b).abs().max().getFloat();
                }
            });
            assertTrue(maxLogitDifference(plain, marked, text) < 0.01 * logitRange);
            double ppl = Perplexity.evaluate(plain, text, 4).perplexity();
            double markedPpl = Perplexity.evaluate(marked, text, 4).perplexity();
            assertEquals(ppl, markedPpl, 0.001 * ppl);
        }
    }

    @Test
    void fidelityGuardRefusesAnEmulatorAsGoodAsTheFullModel() {
        FidelityGuard guard = new FidelityGuard(1.2, 0);
        List<int[]> heldOut = TinyOffline.publicText(4, 16, 2);
        try (OptModel full = OptModel.random(CONFIG, 5);
             OptModel undropped = EmulatorBuilder.build(full, EmulatorLayout.uniform(SPLIT, 4)).toModel()) {
            FidelityGuard.Assessment a = guard.assess(full, undropped, heldOut, 4);
            assertFalse(a.releasable());
            assertEquals(1.0, a.perplexityRatio(), 1e-6);
            assertThrows(EmulatorRefusedException.class, () -> FidelityGuard.requireReleasable(a));
        }
        assertTrue(guard.assess(30.0, 20.0).releasable());
        assertFalse(guard.assess(22.0, 20.0).releasable());
        assertTrue(new FidelityGuard(1.2, 0.9).accuracyRefusal(0.95, 1.0).contains("exceeds"));
        assertTrue(new FidelityGuard(1.2, 0.9).accuracyRefusal(0.8, 1.0).isEmpty());
    }

    private static Map<String, HostTensor> addNoise(Map<String, HostTensor> marked, Map<String, HostTensor> original) {
        SplittableRandom random = new SplittableRandom(11);
        Map<String, HostTensor> out = new LinkedHashMap<>();
        marked.forEach((name, t) -> {
            float[] data = t.data().clone();
            float[] o = original.get(name).data();
            for (int i = 0; i < data.length; i++) {
                float markSize = Math.abs(data[i] - o[i]);
                data[i] += (float) ((random.nextDouble() * 2 - 1) * 1.7 * markSize);
            }
            out.put(name, new HostTensor(t.shape(), data));
        });
        return out;
    }

    private static double maxLogitDifference(OptModel a, OptModel b, List<int[]> text) {
        return DjlRuntime.withoutGradients(() -> {
            try (NDManager scope = DjlRuntime.newManager();
                 TokenBatch batch = TokenBatch.of(scope, text, null, CONFIG.padTokenId())) {
                return (double) a.logits(batch).sub(b.logits(batch)).abs().max().getFloat();
            }
        });
    }

    private static double maxDifference(HostTensor a, HostTensor b) {
        double max = 0;
        for (int i = 0; i < a.data().length; i++) {
            max = Math.max(max, Math.abs(a.data()[i] - b.data()[i]));
        }
        return max;
    }
}
