package io.guardedtuning.audit.service;

import io.guardedtuning.attack.Attack;
import io.guardedtuning.attack.AttackCatalog;
import io.guardedtuning.attack.Observation;
import io.guardedtuning.attack.Reconstruction;
import io.guardedtuning.attack.ThreatModel;
import io.guardedtuning.attack.WireDefence;
import io.guardedtuning.model.OptModel;
import io.guardedtuning.model.Split;
import io.guardedtuning.privacy.PrivacyWarmup;
import io.guardedtuning.split.BackboneServer;
import io.guardedtuning.tensor.HostTensor;

import java.util.BitSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * The honest-but-curious server's toolkit, built once: the threat model (pretrained client-side weights, split,
 * auxiliary text, known wire defence), the server's own frozen backbone (to recompute h_out, which gradient
 * attacks need), and the configured attacks with their CPU caps. Runs on the audit worker thread only.
 */
public final class AttackSuite implements AutoCloseable {

    private final OptModel pretrained;
    private final ThreatModel threatModel;
    private final BackboneServer backbone;
    private final Map<String, Attack> attacks;

    /**
     * @param pretrained the model the provider shipped (whole); the threat model copies its client side and the
     *                   backbone part is used as the server's own trunk; the suite closes it
     * @param warmupText the text of an announced warm-up ({@link ThreatModel#of}), or null
     */
    public AttackSuite(OptModel pretrained, Split split, List<int[]> auxiliary,
                       Function<PrivacyWarmup.Recipe, List<int[]>> warmupText, WireDefence knownDefence,
                       List<String> attackNames, AttackCatalog.Caps caps) {
        this.attacks = AttackCatalog.attacks(attackNames, caps);
        this.pretrained = pretrained;
        // The whole model: the backbone part is the provider's own and serves the adaptive attackers' shadows.
        this.threatModel = ThreatModel.of(pretrained.config(), split, pretrained.toTensors(n -> true),
                auxiliary, ThreatModel.LossNormalisation.MEAN_OVER_TARGETS, knownDefence, warmupText);
        this.backbone = new BackboneServer(pretrained, split, 1);
    }

    public List<String> attackIds() {
        return List.copyOf(attacks.keySet());
    }

    /**
     * Runs every configured attack on the step, adapted to the defence the session announced; results keyed by
     * attack id, in configuration order.
     */
    public Map<String, Reconstruction> attack(SampledStep step) {
        Observation o = observation(step).withDefence(step.defence());
        Map<String, Reconstruction> out = new LinkedHashMap<>();
        attacks.forEach((id, attack) -> out.put(id, attack.attack(o, threatModel)));
        return out;
    }

    /** What the server sees: the wire, plus its own h_out recomputed by its frozen backbone when a gradient came. */
    private Observation observation(SampledStep step) {
        if (!step.hasGradient()) {
            return Observation.forwardOnly(step.session(), step.step(), step.hIn(), step.lengths());
        }
        HostTensor hOut;
        try {
            hOut = backbone.forward(step.session(), step.step(), step.hIn(), step.lengths(), false);
        } catch (IllegalArgumentException e) {
            // A mis-shaped activation: the attacks report it themselves from the forward-only observation.
            return Observation.forwardOnly(step.session(), step.step(), step.hIn(), step.lengths());
        }
        return new Observation(step.session(), step.step(), step.hIn(), step.lengths(), step.gOut(), hOut);
    }

    /** The token ids in the attacker's public text, for the coverage a client reports beside each score. */
    public BitSet auxiliaryVocabulary() {
        return threatModel.auxiliaryVocabulary();
    }

    @Override
    public void close() {
        threatModel.close();
        backbone.close();
        pretrained.close();
    }
}
