package io.guardedtuning.attack;

import io.guardedtuning.model.OptModel;
import io.guardedtuning.privacy.ClientDefence;
import io.guardedtuning.privacy.PrivacyWarmup;
import io.guardedtuning.tensor.HostTensor;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * SIP adapted to the announced defence: the inverter trains on activations of shadow input adapters
 * ({@link ShadowAdapters}) tuned on public text under the session's α, noise and bits, then through its wire. Two
 * policies for how far the shadow is tuned:
 * <ul>
 *   <li>{@link #underDefence}: a fixed number of shadow steps, enough for the regulariser to reshape the adapter;</li>
 *   <li>{@link #followingDrift}: as many steps as the client has made before the observed step, at its learning
 *   rate (rounded to the nearest power of two, so that a session needs one inverter per doubling, not per step).</li>
 * </ul>
 * Without an announcement the threat model's wire and α = 0 are assumed. An announced privacy warm-up starts from a
 * secret perturbation the provider cannot know, only its distribution: the inverter then trains on a mixture of
 * {@code warmupSeeds} shadows, each warmed from a different draw of the provider's own, so that it learns what the
 * warmed adapters share rather than one draw's quirks (expectation over the unknown start).
 */
public final class AdaptiveSipAttack extends InverterAttack {

    /**
     * @param inverter             the inverter's recipe (as SIP's)
     * @param shadowSteps          shadow steps under the defence (the fixed policy), and the cap of the drift policy
     * @param shadowBatch          public rows per shadow step
     * @param fallbackLearningRate the shadow's learning rate when the session announced none
     * @param warmupSeeds          shadows (provider draws of the secret start) the inverter trains on when a warm-up
     *                             was announced
     */
    public record Settings(SipAttack.Settings inverter, int shadowSteps, int shadowBatch, float fallbackLearningRate,
                           int warmupSeeds) {

        public Settings {
            if (shadowSteps < 0 || shadowBatch < 1 || !(fallbackLearningRate > 0) || warmupSeeds < 1) {
                throw new IllegalArgumentException("shadow steps >= 0, batch >= 1, a positive learning rate and at "
                        + "least one warm-up seed, got " + shadowSteps + ", " + shadowBatch + ", "
                        + fallbackLearningRate + ", " + warmupSeeds);
            }
        }

        /** One shadow per setting (no mixture over warm-up draws). */
        public Settings(SipAttack.Settings inverter, int shadowSteps, int shadowBatch, float fallbackLearningRate) {
            this(inverter, shadowSteps, shadowBatch, fallbackLearningRate, 1);
        }
    }

    private final String name;
    private final Settings settings;
    private final boolean followDrift;

    private AdaptiveSipAttack(String name, Settings settings, boolean followDrift) {
        this.name = name;
        this.settings = settings;
        this.followDrift = followDrift;
    }

    public static AdaptiveSipAttack underDefence(Settings settings) {
        return new AdaptiveSipAttack("SIP-adaptive", settings, false);
    }

    public static AdaptiveSipAttack followingDrift(Settings settings) {
        return new AdaptiveSipAttack("SIP-drift", settings, true);
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    TokenInverter inverter(Observation o, ThreatModel threatModel) {
        return inverterFor(threatModel, announced(o, threatModel), shadowSteps(o), settings);
    }

    @Override
    String describe(Observation o, ThreatModel threatModel) {
        KnownDefence announced = announced(o, threatModel);
        return describe(announced, shadowSteps(o)) + ("none".equals(announced.warmup()) ? ""
                : settings.warmupSeeds() == 1 ? ", one provider draw of the warm-up's secret start"
                : ", a mixture of " + settings.warmupSeeds() + " provider draws of the warm-up's secret start");
    }

    int shadowSteps(Observation o) {
        if (!followDrift) {
            return settings.shadowSteps();
        }
        long updates = Math.min(o.step(), settings.shadowSteps());
        return updates == 0 ? 0 : Math.min(settings.shadowSteps(),
                1 << Math.round(Math.log(updates) / Math.log(2)));
    }

    static KnownDefence announced(Observation o, ThreatModel threatModel) {
        if (o.defence() != null) {
            return o.defence();
        }
        WireDefence wire = threatModel.knownDefence();
        return new KnownDefence("online", wire.activationBits(), wire.noiseStd(), 0f, 0f, "none");
    }

    /**
     * The inverter trained on a shadow tuned {@code steps} steps under {@code defence}, cached per setting (shared by
     * every attack that asks for the same one); the shadows are dropped once the inverter has trained.
     */
    static TokenInverter inverterFor(ThreatModel threatModel, KnownDefence defence, int steps, Settings settings) {
        if ((steps > 0 && "online".equals(defence.design()) || !"none".equals(defence.warmup()))
                && !threatModel.hasBackbone()) {
            throw new IllegalStateException("shadow tuning needs the provider's backbone in the threat model");
        }
        String key = "shadow SIP " + settings + " " + describe(defence, steps);
        int seeds = "none".equals(defence.warmup()) ? 1 : settings.warmupSeeds();
        return threatModel.artefact(key, () -> {
            List<OptModel> shadows = new ArrayList<>();
            try {
                ShadowAdapters.Settings tuning = new ShadowAdapters.Settings(settings.shadowBatch(),
                        settings.fallbackLearningRate(), settings.inverter().seed());
                List<TokenInverter.Source> sources = new ArrayList<>();
                for (int i = 0; i < seeds; i++) {
                    OptModel shadow = ShadowAdapters.tune(threatModel, defence, steps, tuning,
                            ClientDefence.SHADOW_SEED + i);
                    shadows.add(shadow);
                    sources.add(new TokenInverter.Source(shadow, defence.wire()));
                }
                return TokenInverter.train(threatModel, settings.inverter(), sources);
            } finally {
                shadows.forEach(OptModel::close);
            }
        });
    }

    /**
     * The client side the announced warm-up {@code recipe} gives from the provider's {@code draw}-th seed, as this
     * attack's shadows start (cached in the threat model, so a caller that also runs this attack warms it once).
     */
    public static Map<String, HostTensor> warmedDraw(ThreatModel threatModel, PrivacyWarmup.Recipe recipe, int draw) {
        return ShadowAdapters.warmed(threatModel, recipe, ClientDefence.SHADOW_SEED + draw)
                .toTensors(threatModel.split().client());
    }

    static String describe(KnownDefence d, int steps) {
        return String.format(Locale.ROOT, "shadow %s α=%s lr=%s warm-up %s, %d shadow steps, wire %s", d.design(),
                d.alpha(), d.learningRate(), d.warmup(), steps, d.wire());
    }
}
