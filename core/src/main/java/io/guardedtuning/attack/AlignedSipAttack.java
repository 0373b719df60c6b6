package io.guardedtuning.attack;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.training.GradientCollector;
import io.guardedtuning.engine.DjlRuntime;
import io.guardedtuning.model.TokenBatch;
import io.guardedtuning.train.AdamW;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * SIP carried over to a secret input adapter through an affine map estimated from the observed h_in alone (no
 * ground truth): a privacy warm-up from a secret start leaves an adapter whose h_in is largely an affine
 * re-encoding of the pretrained adapter's (docs/benchmarks.md), so the provider looks for the map that makes the
 * client's h_in read like the pretrained space its inverter knows. It starts from the map matching the two clouds'
 * mean and covariance (the pretrained h_in of public text), then each round (a) adapts the map, the inverter
 * frozen, to make the inverter's reading confident per position and, over all positions, as frequent per token as
 * public text (information maximisation, as in source-free domain adaptation), and (b) refits the map by least
 * squares onto the pretrained h_in of the text it now reads, on its most confident positions (pseudo-pairs).
 */
public final class AlignedSipAttack extends BaseAttack {

    /**
     * @param referenceRows public rows whose pretrained h_in give the target cloud's moments
     * @param rounds        adapt-and-refit rounds (0: the moment-matching map alone)
     * @param adaptSteps    full-batch Adam steps on the map per round (0: refit only)
     * @param learningRate  Adam's rate for the map
     * @param keptShare     share of the positions, the most confident, the refit uses (0: no refit)
     * @param ridge         the refit's ridge, relative to the mean variance of the observed h_in
     */
    public record Settings(int referenceRows, int rounds, int adaptSteps, float learningRate, float keptShare,
                           float ridge) {

        public Settings {
            if (referenceRows < 1 || rounds < 0 || adaptSteps < 0 || !(learningRate > 0)
                    || !(keptShare >= 0 && keptShare <= 1) || !(ridge >= 0)) {
                throw new IllegalArgumentException("aligned SIP: reference rows >= 1, rounds >= 0, steps >= 0, "
                        + "lr > 0, share in [0, 1], ridge >= 0; got " + referenceRows + ", " + rounds + ", "
                        + adaptSteps + ", " + learningRate + ", " + keptShare + ", " + ridge);
            }
        }

        /**
         * The auditor's: the moment-matching map alone, on 64 public rows. The rounds that adapt or refit it read
         * less against the privacy warm-up (docs/benchmarks.md), so they stay options for experiments.
         */
        public static Settings defaults() {
            return new Settings(64, 0, 0, 1e-2f, 0f, 1e-4f);
        }
    }

    private static final int REFERENCE_BATCH = 8;

    private final InverterAttack base;
    private final Settings settings;

    /** {@code base} must read the pretrained adapter's space (SIP), which the map aims at. */
    public AlignedSipAttack(SipAttack base, Settings settings) {
        this.base = base;
        this.settings = settings;
    }

    @Override
    public String name() {
        return base.name() + "-aligned";
    }

    @Override
    boolean needsGradient() {
        return false;
    }

    @Override
    Guess guess(Observation o, ThreatModel threatModel) {
        TokenInverter inverter = base.inverter(o, threatModel);
        try (NDManager scope = DjlRuntime.newManager()) {
            NDArray real = realRows(ThreatModel.toArray(scope, o.hIn()), o.lengths());
            NDArray coral = AffineAlignment.coral(real, reference(threatModel, o.wire(threatModel),
                    settings.referenceRows(), scope));
            NDArray map = settings.rounds() == 0 ? coral : refine(threatModel, inverter, real, o.lengths(), coral);
            NDArray probabilities = DjlRuntime.withoutGradients(() -> inverter.logits(
                    AffineAlignment.apply(map, real)).softmax(-1));
            long[] ids = DjlRuntime.withoutGradients(() -> probabilities.argMax(-1).toLongArray());
            double confidence = DjlRuntime.withoutGradients(() -> probabilities.max(new int[] {-1}).mean()
                    .getFloat());
            return new Guess(cutIntoSequences(ids, o.lengths()), confidence, String.format(Locale.ROOT,
                    "%s; read through an affine map estimated from the observed h_in: moments of %d public rows' "
                            + "pretrained h_in, then %d rounds of %d information-maximising steps and a refit on "
                            + "the %.0f%% most confident pseudo-pairs; %s", inverter.summary(),
                    settings.referenceRows(), settings.rounds(), settings.adaptSteps(), 100 * settings.keptShare(),
                    base.describe(o, threatModel)));
        }
    }

    /**
     * The experiments' rounds: adapting the map trains through a copy of the inverter, so the cached one the other
     * attacks share gathers no gradients; refits only read.
     */
    private NDArray refine(ThreatModel threatModel, TokenInverter inverter, NDArray real, long[] lengths,
                           NDArray start) {
        try (TokenInverter frozen = inverter.copy()) {
            NDArray logPrior = settings.adaptSteps() > 0 ? publicUnigram(threatModel, real.getManager()).log() : null;
            NDArray map = start;
            for (int round = 0; round < settings.rounds(); round++) {
                if (settings.adaptSteps() > 0) {
                    map = maximiseInformation(frozen, real, map, logPrior);
                }
                if (settings.keptShare() > 0) {
                    map = refit(threatModel, inverter, real, lengths, map);
                }
            }
            return map;
        }
    }

    /** The pretrained adapter's h_in of the first public rows, through the wire the inverter trained through. */
    static NDArray reference(ThreatModel threatModel, WireDefence wire, int referenceRows, NDManager scope) {
        List<int[]> rows = threatModel.auxiliary().subList(0, Math.min(referenceRows,
                threatModel.auxiliary().size()));
        List<NDArray> parts = new ArrayList<>();
        for (int from = 0; from < rows.size(); from += REFERENCE_BATCH) {
            List<int[]> part = rows.subList(from, Math.min(rows.size(), from + REFERENCE_BATCH));
            int seed = from;
            parts.add(DjlRuntime.withoutGradients(() -> {
                try (TokenBatch batch = TokenBatch.of(scope, part, null, threatModel.config().padTokenId())) {
                    return realRows(wire.apply(threatModel.pretrainedHIn(batch), seed), batch.lengths());
                }
            }));
        }
        return DjlRuntime.withoutGradients(() -> NDArrays.concat(new NDList(parts)));
    }

    /** Token frequencies of the public text, add-one smoothed [V]: what a reading of private text should resemble. */
    private static NDArray publicUnigram(ThreatModel threatModel, NDManager scope) {
        float[] counts = new float[threatModel.config().vocabSize()];
        java.util.Arrays.fill(counts, 1f);
        for (int[] row : threatModel.auxiliary()) {
            for (int id : row) {
                counts[id]++;
            }
        }
        NDArray c = scope.create(counts);
        return c.div(c.sum());
    }

    /**
     * Adam on the map, the inverter frozen: mean per-position entropy of the reading plus KL(mean reading ‖ public
     * unigram), so that it grows confident without collapsing onto a few tokens.
     */
    private NDArray maximiseInformation(TokenInverter frozen, NDArray real, NDArray start, NDArray logPrior) {
        NDArray map = start.duplicate();
        map.setRequiresGradient(true);
        Map<String, NDArray> parameters = Map.of("map", map);
        try (AdamW optimizer = new AdamW(new AdamW.Settings(0.9f, 0.999f, 1e-8f, 0f, 0f))) {
            for (int i = 0; i < settings.adaptSteps(); i++) {
                try (NDManager step = DjlRuntime.newManager()) {
                    NDArray x = real.duplicate();
                    x.attach(step);
                    try (GradientCollector gc = DjlRuntime.gradientCollector()) {
                        NDArray logP = frozen.logits(AffineAlignment.apply(map, x)).logSoftmax(-1);
                        NDArray p = logP.exp();
                        NDArray entropy = p.mul(logP).sum(new int[] {-1}).mean().neg();
                        NDArray mean = p.mean(new int[] {0});
                        NDArray divergence = mean.mul(mean.add(1e-12f).log().sub(logPrior)).sum();
                        gc.backward(entropy.add(divergence));
                    }
                }
                optimizer.update(parameters, settings.learningRate());
            }
        }
        NDArray adapted = map.duplicate();
        map.close();
        return adapted;
    }

    /** The map refitted onto the pretrained h_in of the current reading, on its most confident positions. */
    private NDArray refit(ThreatModel threatModel, TokenInverter inverter, NDArray real, long[] lengths,
                          NDArray map) {
        return DjlRuntime.withoutGradients(() -> {
            NDArray probabilities = inverter.logits(AffineAlignment.apply(map, real)).softmax(-1);
            List<int[]> read = cutIntoSequences(probabilities.argMax(-1).toLongArray(), lengths);
            try (TokenBatch batch = TokenBatch.of(real.getManager(), read, null,
                    threatModel.config().padTokenId())) {
                NDArray target = realRows(threatModel.pretrainedHIn(batch), lengths);
                long kept = Math.max(real.getShape().get(1) + 1,
                        Math.round(real.getShape().get(0) * settings.keptShare()));
                NDArray order = probabilities.max(new int[] {-1}).argSort(0, false)
                        .get(new NDIndex(":{}", Math.min(kept, real.getShape().get(0))));
                return AffineAlignment.fit(real.get(order), target.get(order), settings.ridge());
            }
        });
    }
}
