package io.guardedtuning.privacy;

import io.guardedtuning.attack.AdaptiveSipAttack;
import io.guardedtuning.attack.AlignedSipAttack;
import io.guardedtuning.attack.Attack;
import io.guardedtuning.attack.BisrForwardAttack;
import io.guardedtuning.attack.KnownDefence;
import io.guardedtuning.attack.Observation;
import io.guardedtuning.attack.Reconstruction;
import io.guardedtuning.attack.SipAttack;
import io.guardedtuning.attack.ThreatModel;
import io.guardedtuning.attack.WireDefence;
import io.guardedtuning.metrics.TextLeakage;
import io.guardedtuning.model.OptConfig;
import io.guardedtuning.model.Split;
import io.guardedtuning.split.Design;
import io.guardedtuning.tensor.HostTensor;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The audit's forward attacks run by the client on its own outgoing h_in: SIP trained on public text through the
 * defence it knows, SIP read through the affine map that matches the observed h_in's moments to the weight set's
 * ({@link AlignedSipAttack}: a warm-up from a secret start leaves an adapter that is largely an affine re-encoding of
 * the pretrained one) and BiSR(f) refining SIP's guess against the observed h_in, once for each client-side weight set
 * the provider could hold (the pretrained copy it shipped and, after an announced warm-up, the shadow it warms from
 * its first draw of the secret start); the strongest guess counts. BiSR(f) is here because it is the auditor's: a check that ran SIP
 * alone let the demo send batches the auditor rebuilt over budget (docs/results.md). With a warm-up it also runs the
 * auditor's adaptive SIP, whose inverter trains on several shadows each warmed from its own draw of the secret start
 * ({@link WarmupMixture}): one draw's shadow understates what the provider can rebuild. An inverter is trained once
 * per (weights, defence) and kept, so a check costs one inverter forward and the BiSR(f) steps per weight set.
 */
public final class ForwardLeakageProbe implements LeakageProbe, AutoCloseable {

    /**
     * @param refine BiSR(f) from SIP's guess; null checks SIP and its aligned reading alone (weaker than the
     *               auditor: for tests and experiments that measure SIP by itself)
     */
    public record Settings(SipAttack.Settings sip, BisrForwardAttack.Settings refine) {

        /** The auditor's recipes with its step caps ({@code refineSteps} 0: SIP alone). */
        public static Settings auditors(int sipSteps, int refineSteps) {
            return new Settings(SipAttack.Settings.defaults().withMaxSteps(sipSteps), refineSteps == 0 ? null
                    : BisrForwardAttack.Settings.defaults().withSteps(refineSteps));
        }
    }

    /**
     * The auditor's adaptive attacker for an announced warm-up: SIP on shadows warmed from {@code draws} draws of the
     * secret start ({@link AdaptiveSipAttack}), on the warm-up's own rows.
     *
     * @param pretrained the whole pretrained model (client side and backbone: the shadows' warm-up runs through it)
     */
    public record WarmupMixture(Map<String, HostTensor> pretrained, PrivacyWarmup.Recipe recipe,
                                List<int[]> warmupRows, int draws) {
    }

    /**
     * One attack's reconstruction with one weight set: 0 the pretrained copy, then the other sets given, then the
     * first draw's shadow; the warm-up mixture is numbered after them all.
     */
    public record Guess(String attack, int weights, List<int[]> tokens) {
    }

    private final OptConfig config;
    private final Split split;
    private final List<Map<String, HostTensor>> attackerWeights;
    private final List<int[]> publicText;
    private final List<Attack> attacks;
    private final WarmupMixture mixture;
    private final AdaptiveSipAttack mixtureAttack;
    private final Map<String, ThreatModel> threatModels = new HashMap<>();

    /** @param attackerWeights client-side weight sets the provider could attack with (at least the pretrained) */
    public ForwardLeakageProbe(OptConfig config, Split split, List<Map<String, HostTensor>> attackerWeights,
                               List<int[]> publicText, Settings settings) {
        this(config, split, attackerWeights, publicText, settings, null);
    }

    /** @param mixture the warm-up's adaptive attacker, or null when no warm-up was announced */
    public ForwardLeakageProbe(OptConfig config, Split split, List<Map<String, HostTensor>> attackerWeights,
                               List<int[]> publicText, Settings settings, WarmupMixture mixture) {
        if (attackerWeights.isEmpty()) {
            throw new IllegalArgumentException("the probe needs at least the pretrained client-side weights");
        }
        this.config = config;
        this.split = split;
        this.attackerWeights = List.copyOf(attackerWeights);
        this.publicText = List.copyOf(publicText);
        SipAttack sip = new SipAttack(settings.sip());
        AlignedSipAttack aligned = new AlignedSipAttack(sip, AlignedSipAttack.Settings.defaults());
        this.attacks = settings.refine() == null ? List.of(sip, aligned)
                : List.of(sip, aligned, new BisrForwardAttack(sip, settings.refine()));
        this.mixture = mixture;
        this.mixtureAttack = mixture == null ? null : AdaptiveSipAttack.underDefence(new AdaptiveSipAttack.Settings(
                settings.sip(), 0, 8, mixture.recipe().learningRate(), mixture.draws()));
    }

    @Override
    public synchronized double leakage(HostTensor wire, long[] lengths, List<int[]> tokens, WireDefence defence) {
        double worst = 0;
        for (Guess g : reconstruct(wire, lengths, defence)) {
            worst = Math.max(worst, TextLeakage.score(g.tokens(), tokens).rougeL());
        }
        return worst;
    }

    /** Every attack's guess with every weight set. */
    public synchronized List<Guess> reconstruct(HostTensor wire, long[] lengths, WireDefence defence) {
        Observation observed = Observation.forwardOnly("self-check", 0, wire, lengths);
        List<Guess> guesses = new ArrayList<>();
        int weightSets = attackerWeights.size() + (mixture == null ? 0 : 1);
        for (int i = 0; i < weightSets; i++) {
            ThreatModel threatModel = threatModel(i, defence);
            for (Attack attack : attacks) {
                Reconstruction r = attack.attack(observed, threatModel);
                if (!r.succeeded()) {
                    throw new IllegalStateException("the client's own leakage check could not run "
                            + attack.name() + ": " + r.detail());
                }
                guesses.add(new Guess(attack.name(), i, r.tokens()));
            }
        }
        if (mixture != null) {
            ThreatModel threatModel = mixtureThreatModel(defence);
            // Gradfree: the shadows are the warm-up alone (the drift attackers are the auditor's, per step).
            Reconstruction r = mixtureAttack.attack(observed.withDefence(new KnownDefence(Design.GRADFREE.id(),
                    defence.activationBits(), defence.noiseStd(), 0f, mixture.recipe().learningRate(),
                    mixture.recipe().spec())), threatModel);
            if (!r.succeeded()) {
                throw new IllegalStateException("the client's own leakage check could not run "
                        + mixtureAttack.name() + ": " + r.detail());
            }
            guesses.add(new Guess(mixtureAttack.name(), weightSets, r.tokens()));
        }
        return guesses;
    }

    private ThreatModel threatModel(int index, WireDefence defence) {
        String key = index + "/" + defence.activationBits() + "/" + defence.noiseStd();
        ThreatModel cached = threatModels.get(key);
        if (cached != null) {
            return cached;
        }
        // The first draw's shadow is the mixture's first shadow, taken from its cache rather than warmed again.
        Map<String, HostTensor> weights = index < attackerWeights.size() ? attackerWeights.get(index)
                : AdaptiveSipAttack.warmedDraw(mixtureThreatModel(defence), mixture.recipe(), 0);
        ThreatModel built = ThreatModel.of(config, split, weights, publicText,
                ThreatModel.LossNormalisation.MEAN_OVER_TARGETS, defence);
        threatModels.put(key, built);
        return built;
    }

    /**
     * One threat model for every σ: the observation announces the wire, and the warmed draws it caches are the same
     * at every σ, so a raised σ trains a new inverter without warming the draws again.
     */
    private ThreatModel mixtureThreatModel(WireDefence defence) {
        return threatModels.computeIfAbsent("mixture", k -> ThreatModel.of(config, split, mixture.pretrained(),
                publicText, ThreatModel.LossNormalisation.MEAN_OVER_TARGETS, defence,
                recipe -> mixture.warmupRows()));
    }

    @Override
    public synchronized void close() {
        threatModels.values().forEach(ThreatModel::close);
        threatModels.clear();
    }
}
