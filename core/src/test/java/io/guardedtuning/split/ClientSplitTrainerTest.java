package io.guardedtuning.split;

import ai.djl.ndarray.NDArray;
import io.guardedtuning.model.OptConfig;
import io.guardedtuning.model.OptModel;
import io.guardedtuning.model.Split;
import io.guardedtuning.tensor.HostTensor;
import io.guardedtuning.train.AdamW;
import io.guardedtuning.train.LearningRateSchedule;
import io.guardedtuning.train.LocalTrainer;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ClientSplitTrainerTest {

    static final OptConfig CONFIG = OptConfig.of(48, 16, 6, 32, 2, 32);
    static final AdamW.Settings ADAM = new AdamW.Settings(0.9f, 0.999f, 1e-8f, 0.01f, 1.0f);
    static final LearningRateSchedule LR = LearningRateSchedule.constant(3e-3f);

    static List<List<int[]>> batches(int count, long seed) {
        Random r = new Random(seed);
        List<List<int[]>> out = new ArrayList<>();
        for (int b = 0; b < count; b++) {
            List<int[]> batch = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                int[] s = new int[5 + r.nextInt(6)];
                for (int j = 0; j < s.length; j++) {
                    s[j] = 3 + (j * 7 + i) % 20;
                }
                batch.add(s);
            }
            out.add(batch);
        }
        return out;
    }

    @Test
    void onlineInProcessMatchesCentralizedTrainingOfTheSameLayers() {
        Split split = Split.of(2, CONFIG);
        Map<String, HostTensor> weights = OptModel.randomTensors(CONFIG, 3, n -> true);
        List<List<int[]>> data = batches(6, 1);

        Map<String, HostTensor> centralized;
        try (OptModel whole = OptModel.fromTensors(CONFIG, weights);
             LocalTrainer trainer = new LocalTrainer(whole, split.adapters(), ADAM, LR)) {
            for (List<int[]> b : data) {
                trainer.step(b, null);
            }
            centralized = whole.toTensors(split.adapters());
        }

        Map<String, HostTensor> online;
        try (OptModel client = OptModel.fromTensors(CONFIG, HostTensor.select(weights, split.client()));
             OptModel trunk = OptModel.fromTensors(CONFIG, HostTensor.select(weights, split.backbone()));
             BackboneServer server = new BackboneServer(trunk, split, 4);
             ClientSplitTrainer trainer = new ClientSplitTrainer(client, split, Design.ONLINE, ADAM, LR,
                     ActivationRegularizer.NONE, false)) {
            InProcessLink link = new InProcessLink(server, "s1");
            for (List<int[]> b : data) {
                trainer.step(link, b, null, null);
            }
            online = client.toTensors(split.adapters());
            assertEquals(0, server.heldSteps(), "every held activation is released by its backward");
        }
        assertEquals(centralized.keySet(), online.keySet());
        centralized.forEach((n, want) -> {
            float[] got = online.get(n).data();
            for (int i = 0; i < got.length; i++) {
                assertEquals(want.data()[i], got[i], 1e-5f, n + "[" + i + "]");
            }
        });
        assertNotEquals(HostTensor.select(weights, split.adapters()).get(centralized.keySet().iterator().next()),
                centralized.values().iterator().next(), "training must change the adapters");
    }

    @Test
    void gradfreeTrainsOnlyTheOutputAdapterAndCachesTheBackbone() {
        Split split = Split.of(2, CONFIG);
        Map<String, HostTensor> weights = OptModel.randomTensors(CONFIG, 5, n -> true);
        List<int[]> batch = batches(1, 2).get(0);
        List<String> ids = List.of("a", "b", "c");
        int[] forwardCalls = {0};
        try (OptModel client = OptModel.fromTensors(CONFIG, HostTensor.select(weights, split.client()));
             OptModel trunk = OptModel.fromTensors(CONFIG, HostTensor.select(weights, split.backbone()));
             BackboneServer server = new BackboneServer(trunk, split, 4);
             ClientSplitTrainer trainer = new ClientSplitTrainer(client, split, Design.GRADFREE, ADAM,
                     LearningRateSchedule.constant(1e-2f), ActivationRegularizer.NONE, true)) {
            BackboneLink counting = new BackboneLink() {
                final InProcessLink inner = new InProcessLink(server, "g");

                @Override
                public HostTensor forward(long step, HostTensor hIn, long[] lengths, boolean forBackward) {
                    forwardCalls[0]++;
                    assertTrue(!forBackward, "Gradfree never asks for a backward");
                    return inner.forward(step, hIn, lengths, forBackward);
                }

                @Override
                public HostTensor backward(long step, HostTensor gradOut) {
                    throw new AssertionError("no gradient may cross in Gradfree");
                }
            };
            double first = trainer.step(counting, batch, null, ids).taskLoss();
            double last = first;
            for (int i = 0; i < 15; i++) {
                ClientStep s = trainer.step(counting, batch, null, ids);
                assertTrue(s.backboneCached());
                last = s.taskLoss();
            }
            assertEquals(1, forwardCalls[0], "later epochs reuse the cached h_out");
            assertTrue(last < first - 0.1, "loss must fall: " + first + " -> " + last);
            Map<String, HostTensor> after = client.toTensors(n -> true);
            after.forEach((n, t) -> {
                boolean changed = !t.equals(weights.get(n));
                assertEquals(split.outputAdapter().test(n), changed, n + " changed=" + changed);
            });
            assertEquals(0, server.heldSteps());
        }
    }

    @Test
    void backwardForAnUnknownStepAsksForAResend() {
        Split split = Split.of(2, CONFIG);
        try (OptModel trunk = OptModel.fromTensors(CONFIG, OptModel.randomTensors(CONFIG, 1, split.backbone()));
             BackboneServer server = new BackboneServer(trunk, split, 1)) {
            HostTensor h = new HostTensor(new long[] {1, 4, 16}, new float[64]);
            server.forward("s", 0, h, new long[] {4}, true);
            server.forward("s", 1, h, new long[] {4}, true);
            assertEquals(1, server.evictions());
            MissingActivationException e = assertThrows(MissingActivationException.class,
                    () -> server.backward("s", 0, h));
            assertEquals(0, e.step());
            assertEquals(new long[] {1, 4, 16}.length, server.backward("s", 1, h).shape().length);
            assertThrows(IllegalArgumentException.class,
                    () -> server.forward("s", 2, new HostTensor(new long[] {1, 4, 8}, new float[32]),
                            new long[] {4}, true));
        }
    }
}
