package io.guardedtuning.attack;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.guardedtuning.engine.DjlRuntime;

import java.util.Random;

/**
 * TAG: gradient matching on the upstream gradient {@code g_out} from random logits (Online design only; a step
 * without a gradient has nothing to attack). See {@link GradientMatching}. Position 0 is never a label, so TAG
 * cannot recover each sequence's first token.
 */
public final class TagAttack extends BaseAttack {

    private final GradientMatching.Settings settings;
    private final long seed;

    public TagAttack(GradientMatching.Settings settings, long seed) {
        this.settings = settings;
        this.seed = seed;
    }

    public TagAttack() {
        this(GradientMatching.Settings.tag(), 29);
    }

    @Override
    public String name() {
        return "TAG";
    }

    @Override
    boolean needsGradient() {
        return true;
    }

    @Override
    Guess guess(Observation o, ThreatModel threatModel) {
        long[] shape = o.hIn().shape();
        Shape logitsShape = new Shape(shape[0], shape[1], threatModel.config().vocabSize());
        float[] initial = new float[Math.toIntExact(logitsShape.size())];
        Random random = new Random(seed);
        for (int i = 0; i < initial.length; i++) {
            initial[i] = (float) random.nextGaussian();
        }
        try (NDManager scope = DjlRuntime.newManager()) {
            NDArray logits = scope.create(initial, logitsShape);
            return GradientMatching.run(o, threatModel, scope, logits, settings, "random logits");
        }
    }
}
