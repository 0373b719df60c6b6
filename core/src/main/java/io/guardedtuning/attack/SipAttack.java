package io.guardedtuning.attack;

import java.util.List;

/**
 * SIP (BiSR stage 1): a learned inverter from {@code h_in} to tokens, trained on the pretrained input adapter's
 * activations over auxiliary text (through the wire defence the session announced, else the threat model's), then
 * applied to the observed {@code h_in}. The inverter is trained once per settings and wire, and cached in the threat
 * model. It does not adapt to α or drift: {@link AdaptiveSipAttack} and {@link NamoeAttack} do.
 */
public final class SipAttack extends InverterAttack {

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

        /** This recipe with another cap on its optimiser steps. */
        public Settings withMaxSteps(int steps) {
            return new Settings(hiddenUnits, epochs, batchSequences, learningRate, weightDecay, steps, seed);
        }
    }

    /**
     * The auditor's cap on SIP's optimiser steps (1500 steps of 6 × 256-token rows converge on the held-out split),
     * which the client's own leakage check uses too.
     */
    public static final int AUDIT_STEPS = 1500;

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
    TokenInverter inverter(Observation o, ThreatModel threatModel) {
        return inverter(threatModel, o.wire(threatModel));
    }

    /** The inverter trained on the pretrained adapter's h_in of public text through {@code wire}, cached. */
    TokenInverter inverter(ThreatModel threatModel, WireDefence wire) {
        return threatModel.artefact("SIP " + settings + " through " + wire, () -> TokenInverter.train(threatModel,
                settings, List.of(new TokenInverter.Source(threatModel.pretrained(), wire))));
    }

    @Override
    String describe(Observation o, ThreatModel threatModel) {
        return "pretrained input adapter, wire " + o.wire(threatModel);
    }

    Settings settings() {
        return settings;
    }
}
