package io.guardedtuning.attack;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.guardedtuning.engine.DjlRuntime;
import io.guardedtuning.model.TokenBatch;

/**
 * An attack that decodes {@code h_in} with one learned inverter (SIP's): subclasses only choose which inverter,
 * i.e. which surrogate input adapter and wire its training activations came from.
 */
abstract class InverterAttack extends BaseAttack {

    /** The inverter for this observation, trained (and cached in the threat model) on first use. */
    abstract TokenInverter inverter(Observation o, ThreatModel threatModel);

    @Override
    boolean needsGradient() {
        return false;
    }

    @Override
    Guess guess(Observation o, ThreatModel threatModel) {
        TokenInverter inverter = inverter(o, threatModel);
        return DjlRuntime.withoutGradients(() -> {
            try (NDManager scope = DjlRuntime.newManager(); TokenBatch batch = threatModel.batchFor(scope, o.lengths())) {
                NDArray logits = inverter.logits(ThreatModel.toArray(scope, o.hIn()));
                return new Guess(argmaxTokens(logits, o.lengths()), meanMaxProbability(logits, batch.attentionMask()),
                        inverter.summary() + "; " + describe(o, threatModel));
            }
        });
    }

    /** What the inverter was trained on, for the detail line. */
    abstract String describe(Observation o, ThreatModel threatModel);

    /** The inverter's logits [B, T, V] for the observation, in {@code scope}: BiSR(b) starts from them. */
    NDArray logits(Observation o, ThreatModel threatModel, NDManager scope) {
        TokenInverter inverter = inverter(o, threatModel);
        return DjlRuntime.withoutGradients(() -> inverter.logits(ThreatModel.toArray(scope, o.hIn())));
    }
}
