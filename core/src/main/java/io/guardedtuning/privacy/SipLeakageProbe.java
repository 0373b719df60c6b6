package io.guardedtuning.privacy;

import io.guardedtuning.attack.Observation;
import io.guardedtuning.attack.Reconstruction;
import io.guardedtuning.attack.SipAttack;
import io.guardedtuning.attack.ThreatModel;
import io.guardedtuning.attack.WireDefence;
import io.guardedtuning.metrics.TextLeakage;
import io.guardedtuning.model.OptConfig;
import io.guardedtuning.model.Split;
import io.guardedtuning.tensor.HostTensor;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The audit's threat model run by the client on its own outgoing h_in: SIP trained on public text through the
 * defence it knows, once for each client-side weight set the provider could hold (the pretrained copy it shipped,
 * and shadow adapters it warmed up itself with the announced recipe), the strongest taken. An inverter is trained
 * once per (weights, defence) and kept, so checking a batch costs one inverter forward per weight set.
 */
public final class SipLeakageProbe implements LeakageProbe, AutoCloseable {

    private final OptConfig config;
    private final Split split;
    private final List<Map<String, HostTensor>> attackerWeights;
    private final List<int[]> publicText;
    private final SipAttack sip;
    private final Map<String, ThreatModel> threatModels = new HashMap<>();

    /** @param attackerWeights client-side weight sets the provider could attack with (at least the pretrained) */
    public SipLeakageProbe(OptConfig config, Split split, List<Map<String, HostTensor>> attackerWeights,
                           List<int[]> publicText, SipAttack.Settings settings) {
        if (attackerWeights.isEmpty()) {
            throw new IllegalArgumentException("the probe needs at least the pretrained client-side weights");
        }
        this.config = config;
        this.split = split;
        this.attackerWeights = List.copyOf(attackerWeights);
        this.publicText = List.copyOf(publicText);
        this.sip = new SipAttack(settings);
    }

    @Override
    public synchronized double leakage(HostTensor wire, long[] lengths, List<int[]> tokens, WireDefence defence) {
        double worst = 0;
        for (int i = 0; i < attackerWeights.size(); i++) {
            worst = Math.max(worst, score(reconstruct(i, wire, lengths, defence), tokens));
        }
        return worst;
    }

    /** SIP's guess with attacker weight set {@code index}. */
    public synchronized List<int[]> reconstruct(int index, HostTensor wire, long[] lengths, WireDefence defence) {
        Reconstruction r = sip.attack(Observation.forwardOnly("self-check", 0, wire, lengths),
                threatModel(index, defence));
        if (!r.succeeded()) {
            throw new IllegalStateException("the client's own leakage check could not run: " + r.detail());
        }
        return r.tokens();
    }

    public int attackers() {
        return attackerWeights.size();
    }

    private ThreatModel threatModel(int index, WireDefence defence) {
        return threatModels.computeIfAbsent(index + "/" + defence.activationBits() + "/" + defence.noiseStd(),
                k -> ThreatModel.of(config, split, attackerWeights.get(index), publicText,
                        ThreatModel.LossNormalisation.MEAN_OVER_TARGETS, defence));
    }

    private static double score(List<int[]> guess, List<int[]> truth) {
        return TextLeakage.score(guess, truth).rougeL();
    }

    @Override
    public synchronized void close() {
        threatModels.values().forEach(ThreatModel::close);
        threatModels.clear();
    }
}
