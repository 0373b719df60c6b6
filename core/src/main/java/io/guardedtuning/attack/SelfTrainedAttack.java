package io.guardedtuning.attack;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import io.guardedtuning.engine.DjlRuntime;

import java.util.Locale;

/**
 * An inverter attack adapted to the observed activations themselves (self-training, as in unsupervised domain
 * adaptation): where the client's input adapter is secret (a warm-up from a secret start), the base inverter was
 * trained on the provider's shadows, not on the client's adapter; but the provider holds the client's outputs. It
 * fine-tunes a copy of the base inverter on its own most confident guesses over the observed h_in, admitting a
 * larger share of positions each round, so that what it reads with confidence teaches it the client's mapping for
 * the same tokens where it was unsure; or it lets each position's neighbours among the observed positions vote. No
 * ground truth is used. Measured against the privacy warm-up, neither beats its base inverter (docs/benchmarks.md,
 * "Adapting the attack to the observed h_in"), so the auditor does not run it; {@code WarmupShadowBenchmark} does.
 */
public final class SelfTrainedAttack extends BaseAttack {

    /**
     * @param rounds        pseudo-labelling rounds (0: the neighbour vote alone); round r keeps the r/rounds share
     *                      of {@code keptShare}
     * @param stepsPerRound full-batch Adam steps per round
     * @param keptShare     share of the observed positions, the most confident, trained on in the last round
     * @param neighbours    each position's guess is the mean of the inverter's distributions over it and its
     *                      {@code neighbours} nearest observed positions (cosine of the layer-normed h_in); 0: its own
     */
    public record Settings(int rounds, int stepsPerRound, float learningRate, float keptShare, int neighbours) {

        public Settings {
            if (rounds < 0 || stepsPerRound < 1 || !(learningRate > 0) || !(keptShare > 0 && keptShare <= 1)
                    || neighbours < 0) {
                throw new IllegalArgumentException("self-training: rounds >= 0, steps >= 1, lr > 0, share in (0, 1], "
                        + "neighbours >= 0; got " + rounds + ", " + stepsPerRound + ", " + learningRate + ", "
                        + keptShare + ", " + neighbours);
            }
        }
    }

    private final InverterAttack base;
    private final Settings settings;

    public SelfTrainedAttack(InverterAttack base, Settings settings) {
        this.base = base;
        this.settings = settings;
    }

    @Override
    public String name() {
        return base.name() + "+self";
    }

    @Override
    boolean needsGradient() {
        return false;
    }

    @Override
    Guess guess(Observation o, ThreatModel threatModel) {
        TokenInverter start = base.inverter(o, threatModel);
        try (TokenInverter adapted = start.copy(); NDManager scope = DjlRuntime.newManager()) {
            NDArray real = DjlRuntime.withoutGradients(() -> realRows(ThreatModel.toArray(scope, o.hIn()),
                    o.lengths()));
            long positions = real.getShape().get(0);
            NDArray vote = DjlRuntime.withoutGradients(() -> neighbourVote(real, settings.neighbours()));
            float loss = Float.NaN;
            for (int round = 1; round <= settings.rounds(); round++) {
                long kept = Math.max(1, Math.round(positions * settings.keptShare() * round / settings.rounds()));
                NDArray[] labelled = DjlRuntime.withoutGradients(() -> {
                    NDArray probabilities = guesses(adapted, real, vote);
                    NDArray order = probabilities.max(new int[] {-1}).argSort(0, false).get(new NDIndex(":{}", kept));
                    return new NDArray[] {real.get(order), probabilities.argMax(-1).get(order)};
                });
                loss = adapted.fit(labelled[0], labelled[1], settings.stepsPerRound(), settings.learningRate());
            }
            NDArray probabilities = DjlRuntime.withoutGradients(() -> guesses(adapted, real, vote));
            long[] ids = DjlRuntime.withoutGradients(() -> probabilities.argMax(-1).toLongArray());
            double confidence = DjlRuntime.withoutGradients(() -> probabilities.max(new int[] {-1}).mean()
                    .getFloat());
            return new Guess(cutIntoSequences(ids, o.lengths()), confidence, String.format(Locale.ROOT, "%s, adapted to the observed h_in: "
                            + "vote over %d neighbours, %d self-training rounds × %d steps up to %.0f%% of %d "
                            + "positions (last loss %.3f); %s", start.summary(), settings.neighbours(),
                    settings.rounds(), settings.stepsPerRound(), 100 * settings.keptShare(), positions, loss,
                    base.describe(o, threatModel)));
        }
    }

    /** The inverter's distributions over the positions [N, V], averaged over each one's neighbours. */
    private static NDArray guesses(TokenInverter inverter, NDArray real, NDArray vote) {
        NDArray probabilities = inverter.logits(real).softmax(-1);
        return vote == null ? probabilities : vote.matMul(probabilities);
    }

    /**
     * Row-stochastic [N, N]: each position's weight 1/(k+1) on itself and on its k nearest positions by cosine of the
     * layer-normed h_in (ties at the k-th included); null for k = 0.
     */
    private static NDArray neighbourVote(NDArray real, int k) {
        long n = real.getShape().get(0);
        if (k == 0 || n < 2) {
            return null;
        }
        NDArray centred = real.sub(real.mean(new int[] {-1}, true));
        NDArray unit = centred.div(centred.norm(new int[] {-1}, true).maximum(1e-6f));
        NDArray similarity = unit.matMul(unit.transpose());
        long kept = Math.min(n, k + 1);
        NDArray threshold = similarity.sort(1).get(new NDIndex(":, {}", n - kept)).expandDims(1);
        NDArray weights = similarity.gte(threshold).toType(DataType.FLOAT32, false);
        return weights.div(weights.sum(new int[] {1}, true));
    }
}
