package io.guardedtuning.attack;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The audit's attacks by name, built with their CPU caps: one place for the auditor and for the benchmarks that
 * must measure exactly what it runs. BiSR(f) and BiSR(b) start from the same SIP instance, so its inverter is
 * trained once per threat model.
 */
public final class AttackCatalog {

    /**
     * CPU caps (optimiser steps) per attack; {@code shadowSteps} bounds the shadow tuning of the adaptive attackers
     * (and the drift they follow), {@code shadowLearningRate} is used when a session announces none,
     * {@code namoeAlphas} are the dCor weights of NaMoE's shadow experts, and {@code warmupSeeds} is how many shadows,
     * each warmed from its own draw of the secret start, an adaptive inverter trains on when a warm-up is announced.
     */
    public record Caps(int sipSteps, int sipHidden, int eiaSteps, int bisrForwardSteps, int tagSteps,
                       int bisrBackwardSteps, int shadowSteps, float shadowLearningRate, List<Float> namoeAlphas,
                       int warmupSeeds) {
    }

    /**
     * Shadows warmed from distinct draws of an announced warm-up's secret start: one inverter on four draws rebuilds
     * 0.19–0.62 where one draw's rebuilds 0.04–0.20 (docs/benchmarks.md, 2026-12-07).
     */
    public static final int WARMUP_SEEDS = 4;

    public static final List<String> KNOWN = List.of("sip", "sip-aligned", "sip-adaptive", "sip-drift", "namoe",
            "eia", "bisr-f", "tag", "bisr-b");

    private AttackCatalog() {
    }

    /** The names as ids (trimmed, lower case), or the reason one is unknown or none is given. */
    public static List<String> ids(List<String> names) {
        List<String> ids = names.stream().map(n -> n.trim().toLowerCase(Locale.ROOT)).toList();
        for (String id : ids) {
            if (!KNOWN.contains(id)) {
                throw new IllegalArgumentException("unknown attack '" + id + "'; known: " + KNOWN);
            }
        }
        if (ids.isEmpty()) {
            throw new IllegalArgumentException("configure at least one attack; known: " + KNOWN);
        }
        return ids;
    }

    /** The named attacks (any of {@link #KNOWN}, case-insensitive), keyed by lower-case name in the given order. */
    public static Map<String, Attack> attacks(List<String> names, Caps caps) {
        SipAttack.Settings inverter = new SipAttack.Settings(caps.sipHidden(), 20, 6, 1e-3f, 1e-5f, caps.sipSteps(),
                17);
        SipAttack sip = new SipAttack(inverter);
        AdaptiveSipAttack.Settings shadow = new AdaptiveSipAttack.Settings(inverter, caps.shadowSteps(), 8,
                caps.shadowLearningRate(), caps.warmupSeeds());
        GradientMatching.Settings tag = GradientMatching.Settings.tag();
        GradientMatching.Settings bisr = GradientMatching.Settings.bisr();
        Map<String, Attack> out = new LinkedHashMap<>();
        for (String id : ids(names)) {
            Attack a = switch (id) {
                case "sip" -> sip;
                case "sip-aligned" -> new AlignedSipAttack(sip, AlignedSipAttack.Settings.defaults());
                case "sip-adaptive" -> AdaptiveSipAttack.underDefence(shadow);
                case "sip-drift" -> AdaptiveSipAttack.followingDrift(shadow);
                case "namoe" -> new NamoeAttack(new NamoeAttack.Settings(shadow, caps.namoeAlphas()));
                case "eia" -> new EiaAttack(new EiaAttack.Settings(caps.eiaSteps(), 0.09f, 0.01f, 0.2f));
                case "bisr-f" -> new BisrForwardAttack(sip,
                        BisrForwardAttack.Settings.defaults().withSteps(caps.bisrForwardSteps()));
                case "tag" -> new TagAttack(new GradientMatching.Settings(caps.tagSteps(), tag.learningRate(),
                        tag.beta(), tag.weightDecay(), tag.relativeStep()), 7);
                case "bisr-b" -> new BisrBackwardAttack(sip, new GradientMatching.Settings(caps.bisrBackwardSteps(),
                        bisr.learningRate(), bisr.beta(), bisr.weightDecay(), bisr.relativeStep()), 1.2f);
                default -> throw new IllegalStateException("no recipe for the known attack " + id);
            };
            out.put(id, a);
        }
        return out;
    }
}
