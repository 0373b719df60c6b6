package io.guardedtuning.attack;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import io.guardedtuning.engine.DjlRuntime;
import io.guardedtuning.model.OptModel;
import io.guardedtuning.model.Split;
import io.guardedtuning.model.TokenBatch;
import io.guardedtuning.train.LmLoss;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** One simulated Online step of a client and server sharing a tiny model, recorded as the server sees it. */
final class ClientSimulation {

    private ClientSimulation() {
    }

    static Observation observe(OptModel model, Split split, List<int[]> sequences, WireDefence defence, long seed,
                               boolean withGradient) {
        int layers = model.config().numHiddenLayers();
        try (NDManager scope = DjlRuntime.newManager();
             TokenBatch batch = TokenBatch.of(scope, sequences, null, model.config().padTokenId())) {
            NDArray wire = DjlRuntime.withoutGradients(() -> defence.apply(
                    model.blocks(model.embed(batch), batch, 0, split.k()), seed));
            NDArray hOut = DjlRuntime.withoutGradients(
                    () -> model.blocks(wire, batch, split.trunkFrom(), split.trunkTo()));
            if (!withGradient) {
                return Observation.forwardOnly("test", seed, OptModel.hostCopy(wire), batch.lengths());
            }
            NDArray leaf = hOut.duplicate();
            leaf.setRequiresGradient(true);
            try (GradientCollector gc = DjlRuntime.gradientCollector()) {
                gc.backward(LmLoss.mean(model.head(model.blocks(leaf, batch, split.trunkTo(), layers)), batch));
            }
            return new Observation("test", seed, OptModel.hostCopy(wire), batch.lengths(),
                    OptModel.hostCopy(leaf.getGradient()), OptModel.hostCopy(hOut));
        }
    }

    /** Uniform random token sequences (ids 3..vocab-1) with lengths in [minLength, maxLength]. */
    static List<int[]> randomSequences(Random random, int count, int minLength, int maxLength, int vocab) {
        List<int[]> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            int[] s = new int[minLength + random.nextInt(maxLength - minLength + 1)];
            for (int j = 0; j < s.length; j++) {
                s[j] = 3 + random.nextInt(vocab - 3);
            }
            out.add(s);
        }
        return out;
    }
}
