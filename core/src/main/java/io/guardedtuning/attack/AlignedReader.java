package io.guardedtuning.attack;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.guardedtuning.engine.DjlRuntime;
import io.guardedtuning.model.OptConfig;
import io.guardedtuning.model.Split;
import io.guardedtuning.model.TokenBatch;
import io.guardedtuning.tensor.HostTensor;

import java.util.List;
import java.util.Map;

/**
 * The aligned SIP reading ({@link AlignedSipAttack}) as a differentiable function of h_in, for a defence that trains
 * against it: SIP's inverter for the pretrained adapter and the moments of that adapter's h_in of public text,
 * both fixed; the map from the given h_in's own moments is recomputed, with gradients, on each call.
 */
public final class AlignedReader implements AutoCloseable {

    private final ThreatModel threatModel;
    private final TokenInverter inverter;
    private final NDManager manager;
    private final AffineAlignment.Moments reference;

    private AlignedReader(ThreatModel threatModel, TokenInverter inverter, NDManager manager,
                          AffineAlignment.Moments reference) {
        this.threatModel = threatModel;
        this.inverter = inverter;
        this.manager = manager;
        this.reference = reference;
    }

    /**
     * Trains SIP ({@code inverterSteps} steps) on the pretrained client side over {@code publicText}, without a wire
     * defence, and takes the moments of its h_in on the first rows as {@link AlignedSipAttack.Settings#defaults()}.
     */
    public static AlignedReader train(OptConfig config, Split split, Map<String, HostTensor> pretrainedClientSide,
                                      List<int[]> publicText, int inverterSteps) {
        ThreatModel threatModel = ThreatModel.of(config, split, pretrainedClientSide, publicText,
                ThreatModel.LossNormalisation.MEAN_OVER_TARGETS, WireDefence.NONE);
        NDManager manager = DjlRuntime.newManager();
        try {
            TokenInverter inverter = new SipAttack(SipAttack.Settings.defaults().withMaxSteps(inverterSteps))
                    .inverter(threatModel, WireDefence.NONE);
            NDArray cloud = AlignedSipAttack.reference(threatModel, WireDefence.NONE,
                    AlignedSipAttack.Settings.defaults().referenceRows(), manager);
            return new AlignedReader(threatModel, inverter, manager,
                    DjlRuntime.withoutGradients(() -> AffineAlignment.Moments.of(cloud)));
        } catch (RuntimeException e) {
            manager.close();
            threatModel.close();
            throw e;
        }
    }

    /**
     * The mean, over the batch's real positions, of the probability the aligned reading of {@code hIn} [B, T, d]
     * gives the batch's true token there; differentiable in {@code hIn}, in its manager.
     */
    public NDArray trueTokenProbability(NDArray hIn, TokenBatch batch) {
        NDArray real = BaseAttack.realRows(hIn, batch.lengths());
        return meanTrueProbability(AffineAlignment.apply(AffineAlignment.onto(real, reference), real),
                BaseAttack.realRows(batch.inputIds(), batch.lengths()));
    }

    /**
     * As {@link #trueTokenProbability}, through the least-squares affine map from {@code hIn} to the pretrained
     * adapter's h_in of the same tokens, fitted on the first half of the batch's real positions and read on the
     * rest: the affine bound, which needs the true pairing, so only the client can compute it; a defence that lowers
     * it lowers what any affine alignment could read, not only the moment-matching one.
     */
    public NDArray pairedTrueTokenProbability(NDArray hIn, TokenBatch batch) {
        NDArray real = BaseAttack.realRows(hIn, batch.lengths());
        NDArray target = DjlRuntime.withoutGradients(() -> BaseAttack.realRows(threatModel.pretrainedHIn(batch),
                batch.lengths()));
        long half = real.getShape().get(0) / 2;
        NDArray map = AffineAlignment.leastSquares(real.get(":" + half), target.get(":" + half), PAIRED_RIDGE);
        return meanTrueProbability(AffineAlignment.apply(map, real.get(half + ":")),
                BaseAttack.realRows(batch.inputIds(), batch.lengths()).get(half + ":"));
    }

    /** The mean probability the inverter gives each true token {@code truth} [N] from mapped h_in [N, d]. */
    private NDArray meanTrueProbability(NDArray mapped, NDArray truth) {
        return inverter.logits(mapped).softmax(-1).gather(truth.expandDims(-1), -1).mean();
    }

    /** The affine bound's ridge: the value that read most in docs/benchmarks.md. */
    private static final double PAIRED_RIDGE = 1e-4;

    @Override
    public void close() {
        manager.close();
        threatModel.close();
    }
}
