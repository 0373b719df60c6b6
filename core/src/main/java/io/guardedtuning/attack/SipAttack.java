package io.guardedtuning.attack;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.guardedtuning.engine.DjlRuntime;
import io.guardedtuning.model.TokenBatch;

/**
 * SIP (BiSR stage 1): a learned inverter from {@code h_in} to tokens, trained on the pretrained input adapter's
 * activations over auxiliary text (through the known wire defence), then applied to the observed {@code h_in}.
 * The inverter is trained once per threat model and settings, and cached in the threat model.
 */
public final class SipAttack extends BaseAttack {

    /**
     * @param maxSteps cap on optimiser steps over all epochs, which bounds the one-off training cost
     */
    public record Settings(int hiddenUnits, int epochs, int batchSequences, float learningRate, float weightDecay,
                           int maxSteps, long seed) {

        public Settings {
            if (hiddenUnits < 1 || epochs < 1 || batchSequences < 1 || maxSteps < 1) {
                throw new IllegalArgumentException("SIP settings must be positive: " + hiddenUnits + ", " + epochs
                        + ", " + batchSequences + ", " + maxSteps);
            }
        }

        /** The reference recipe (Adam, lr 1e-3, weight decay 1e-5, 20 epochs, batch 6) with a 2000-step cap. */
        public static Settings defaults() {
            return new Settings(256, 20, 6, 1e-3f, 1e-5f, 2000, 17);
        }
    }

    private final Settings settings;

    public SipAttack(Settings settings) {
        this.settings = settings;
    }

    public SipAttack() {
        this(Settings.defaults());
    }

    @Override
    public String name() {
        return "SIP";
    }

    @Override
    boolean needsGradient() {
        return false;
    }

    @Override
    Guess guess(Observation o, ThreatModel threatModel) {
        TokenInverter inverter = inverter(threatModel);
        return DjlRuntime.withoutGradients(() -> {
            try (NDManager scope = DjlRuntime.newManager(); TokenBatch batch = threatModel.batchFor(scope, o.lengths())) {
                NDArray logits = inverter.logits(ThreatModel.toArray(scope, o.hIn()));
                return new Guess(argmaxTokens(logits, o.lengths()), meanMaxProbability(logits, batch.attentionMask()),
                        inverter.summary());
            }
        });
    }

    /** The inverter's logits [B, T, V] for the observation, in {@code scope}: BiSR(b) starts from them. */
    NDArray logits(Observation o, ThreatModel threatModel, NDManager scope) {
        TokenInverter inverter = inverter(threatModel);
        return DjlRuntime.withoutGradients(() -> inverter.logits(ThreatModel.toArray(scope, o.hIn())));
    }

    private TokenInverter inverter(ThreatModel threatModel) {
        return threatModel.artefact("SIP " + settings, () -> TokenInverter.train(threatModel, settings));
    }
}
