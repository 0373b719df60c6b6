package io.guardedtuning.privacy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import io.guardedtuning.engine.DjlRuntime;
import io.guardedtuning.model.OptConfig;
import io.guardedtuning.model.OptModel;
import io.guardedtuning.model.Split;
import io.guardedtuning.model.TokenBatch;
import io.guardedtuning.train.LmLoss;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DistanceCorrelationPenaltyTest {

    @Test
    void addsAlphaTimesDcorAndReachesTheInputAdapter() {
        OptConfig c = OptConfig.of(64, 32, 4, 64, 4, 32);
        Split split = Split.of(1, c);
        try (OptModel model = OptModel.random(c, 3);
             DistanceCorrelationPenalty penalty = new DistanceCorrelationPenalty(8f, DistanceCorrelation.perToken());
             NDManager s = DjlRuntime.newManager();
             TokenBatch b = TokenBatch.of(s, List.of(new int[] {5, 9, 11, 30, 7}, new int[] {4, 8, 12}), null, 1)) {
            model.setTrainable(Split.select(model.parameters().keySet(), split.inputAdapter()));
            String weight = "model.decoder.layers.0.fc1.weight";
            try (GradientCollector gc = DjlRuntime.gradientCollector()) {
                NDArray hIn = model.blocks(model.embed(b), b, 0, split.k());
                NDArray task = LmLoss.mean(model.head(model.blocks(hIn, b, split.k(), c.numHiddenLayers())), b);
                NDArray p = penalty.penalty(model.tokenEmbeddings(b), hIn, b);
                float dcor = DistanceCorrelation.perToken().squared(model.tokenEmbeddings(b), hIn, b.attentionMask())
                        .getFloat();
                assertTrue(dcor > 0.5 && dcor <= 1.0001, "dCor² of h_in and E(x) at init: " + dcor);
                assertEquals(8f * dcor, p.getFloat(), 1e-4f);
                gc.backward(task.add(p));
            }
            try (NDArray g = model.parameter(weight).getGradient()) {
                assertTrue(g.abs().sum().getFloat() > 0, "no gradient reached the input adapter");
            }
        }
    }
}
