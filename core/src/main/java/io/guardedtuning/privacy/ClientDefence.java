package io.guardedtuning.privacy;

import io.guardedtuning.attack.AttackCatalog;
import io.guardedtuning.attack.PublicText;
import io.guardedtuning.attack.KnownDefence;
import io.guardedtuning.attack.WireDefence;
import io.guardedtuning.model.OptModel;
import io.guardedtuning.model.Split;
import io.guardedtuning.session.AuditProtocol;
import io.guardedtuning.session.SplitProtocol;
import io.guardedtuning.split.BackboneLink;
import io.guardedtuning.split.Design;
import io.guardedtuning.tensor.HostTensor;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A session's defences before anything is sent, prepared on the client: the privacy warm-up of its adapters, noise
 * on h_in calibrated after it, and the leakage budget with its own check. {@link #around} puts noise (and the
 * guard) on each pass's link; {@link #known} is what the session announces to the provider.
 */
public final class ClientDefence implements AutoCloseable {

    /** The provider's seed for its own run of an announced warm-up recipe (public: it is the attacker's). */
    public static final long SHADOW_SEED = 0x5EEDL;

    /**
     * @param relativeNoise    σ of the noise on h_in as a multiple of the pretrained h_in's RMS on public text
     * @param warmup           the warm-up recipe ({@link PrivacyWarmup.Recipe#NONE}: none)
     * @param leakageBudget    largest ROUGE-L F1 a batch may leak (0 = no budget)
     * @param maxRelativeNoise the largest σ the budget may raise the noise to, relative to the RMS
     * @param secret           the client's secret seed (warm-up start, noise); never announced
     */
    public record Settings(float relativeNoise, PrivacyWarmup.Recipe warmup, double leakageBudget,
                           float maxRelativeNoise, long secret) {

        public static final Settings NONE = new Settings(0f, PrivacyWarmup.Recipe.NONE, 0, 4f, 0);

        public Settings {
            if (!(relativeNoise >= 0) || !(maxRelativeNoise > 0) || !(leakageBudget >= 0 && leakageBudget <= 1)) {
                throw new IllegalArgumentException("noise must be >= 0, the largest noise > 0 and the leakage budget "
                        + "in [0, 1] (0 = none); got " + relativeNoise + ", " + maxRelativeNoise + ", "
                        + leakageBudget);
            }
        }

        public boolean isNone() {
            return relativeNoise == 0 && warmup.isNone() && leakageBudget == 0;
        }

        /** The budget's first noise rung when the session starts without noise: a quarter of the RMS. */
        static final float FIRST_RELATIVE_STEP = 0.25f;
    }

    private final Settings settings;
    private final PrivacyWarmup.Report warmup;
    private final double rms;
    private final int activationBits;
    private final float noiseStd;
    private final LeakageGuard guard;
    private final ForwardLeakageProbe probe;
    private long passes;

    private ClientDefence(Settings settings, PrivacyWarmup.Report warmup, double rms, int activationBits,
                          float noiseStd, LeakageGuard guard, ForwardLeakageProbe probe) {
        this.settings = settings;
        this.warmup = warmup;
        this.rms = rms;
        this.activationBits = activationBits >= 32 ? 0 : activationBits;
        this.noiseStd = noiseStd;
        this.guard = guard;
        this.probe = probe;
    }

    /** No defence: the links pass through as they are. */
    public static ClientDefence none(int activationBits) {
        return new ClientDefence(Settings.NONE, PrivacyWarmup.run(PrivacyWarmup.Recipe.NONE, null, null, null,
                List.of(), 0), Double.NaN, activationBits, 0f, null, null);
    }

    /**
     * Calibrates the noise on the pretrained {@code client}, warms it up (in place) when the recipe asks for it and,
     * with a budget, builds the client's own attacker: the audit's forward attacks over {@code attackerText} with
     * the pretrained client side and, after a warm-up, with the shadows the provider would warm up from its own draws
     * ({@link #SHADOW_SEED} onwards).
     *
     * @param publicText           public rows ({@link PublicText#warmupHalves}) for the warm-up (the first half, which
     *                             the provider's shadow replays too) and the noise calibration (the second)
     * @param attackerText         the auditor's public text ({@link PublicText#ATTACKER_ROW_TOKENS}-token rows of the
     *                             whole held-out split): the budget's attacker must see all the provider could
     * @param pretrainedClientSide the pretrained client-side tensors (what the provider shipped)
     * @param standIn              the middle layers the warm-up's LM loss runs through (null when no warm-up)
     * @param activationBits       bits of h_in on the wire (32 = full precision)
     * @param own                  the client's own training rows, which a warm-up with several candidates chooses
     *                             with ({@link PrivacyWarmup#runBestOf}); they never leave this method
     */
    public static ClientDefence prepare(Settings settings, OptModel client,
                                        Map<String, HostTensor> pretrainedClientSide, OptModel standIn, Split split,
                                        List<int[]> publicText, List<int[]> attackerText, int activationBits,
                                        ForwardLeakageProbe.Settings probeSettings, PrivacyWarmup.OwnRows own) {
        List<List<int[]>> halves = PublicText.halves(publicText);
        // Calibrated on the pretrained adapter, before the warm-up: a unit the provider can compute and check.
        double rms = ActivationNoise.rms(client, split, halves.get(1).subList(0, Math.min(64, halves.get(1).size())));
        PrivacyWarmup.Report report = PrivacyWarmup.runBestOf(settings.warmup(), client, standIn, split,
                halves.get(0), settings.secret(), own);
        float std = (float) (settings.relativeNoise() * rms);
        if (settings.leakageBudget() == 0) {
            return new ClientDefence(settings, report, rms, activationBits, std, null, null);
        }
        ForwardLeakageProbe.WarmupMixture mixture = null;
        if (!settings.warmup().isNone()) {
            // The provider knows the warm-up's rows (the recipe announces them), only not its seed.
            Map<String, HostTensor> whole = new LinkedHashMap<>(standIn.toTensors(n -> true));
            whole.putAll(pretrainedClientSide);
            mixture = new ForwardLeakageProbe.WarmupMixture(whole, settings.warmup(), halves.get(0),
                    AttackCatalog.WARMUP_SEEDS);
        }
        ForwardLeakageProbe probe = new ForwardLeakageProbe(client.config(), split, List.of(pretrainedClientSide),
                attackerText, probeSettings, mixture);
        LeakageGuard guard = new LeakageGuard(new LeakageGuard.Budget(settings.leakageBudget(),
                (float) (Settings.FIRST_RELATIVE_STEP * rms), (float) (settings.maxRelativeNoise() * rms)),
                activationBits, std, probe, settings.secret());
        return new ClientDefence(settings, report, rms, activationBits, std, guard, probe);
    }

    /** This pass's link with the defence on it: the guard when there is a budget, else the noise alone. */
    public BackboneLink around(BackboneLink inner) {
        if (guard != null) {
            return guard.around(inner);
        }
        if (noiseStd == 0) {
            return inner;
        }
        long pass;
        synchronized (this) {
            pass = passes++;
        }
        ActivationNoise noise = new ActivationNoise(noiseStd);
        return new BackboneLink() {
            @Override
            public HostTensor forward(long step, HostTensor hIn, long[] lengths, boolean forBackward) {
                return inner.forward(step, noise.apply(hIn, ActivationNoise.seedFor(settings.secret(), pass, step)),
                        lengths, forBackward);
            }

            @Override
            public HostTensor backward(long step, HostTensor gradOut) {
                return inner.backward(step, gradOut);
            }

            /** The whole batch is noised before the inner link cuts it into micro-batches. */
            @Override
            public HostTensor exchange(long step, HostTensor hIn, long[] lengths, boolean forBackward, Top top) {
                return inner.exchange(step, noise.apply(hIn, ActivationNoise.seedFor(settings.secret(), pass, step)),
                        lengths, forBackward, top);
            }
        };
    }

    /**
     * The auditor's scores of one of this session's steps, as the client scored its reconstructions: a training
     * step over the leakage budget tightens the defence like the client's own check does (no-op without a budget).
     */
    public void auditScored(AuditProtocol.StepScores scores) {
        if (guard != null && SplitProtocol.isTraining(scores.pass())) {
            scores.attacks().stream().max(java.util.Comparator.comparingDouble(a -> a.scores().rougeL()))
                    .ifPresent(a -> guard.auditScored(scores.step(), a.attack(), a.scores().rougeL()));
        }
    }

    /** The noise as it stands (the budget may have raised it). */
    public float noiseStd() {
        return guard != null ? guard.noiseStd() : noiseStd;
    }

    /** The wire defence the provider knows of, as it stands. */
    public WireDefence wire() {
        return new WireDefence(activationBits, noiseStd());
    }

    /** What the session announces: the settings, never the secret seed or the warmed weights. */
    public KnownDefence known(Design design, float alpha, float learningRate) {
        return new KnownDefence(design.id(), activationBits, noiseStd(), alpha, learningRate,
                settings.warmup().spec());
    }

    public PrivacyWarmup.Report warmup() {
        return warmup;
    }

    /** RMS of the pretrained h_in on public text: the unit of the calibrated noise. */
    public double rms() {
        return rms;
    }

    /** The budget's report, or null without a budget. */
    public LeakageGuard.Report budget() {
        return guard == null ? null : guard.report();
    }

    @Override
    public void close() {
        if (probe != null) {
            probe.close();
        }
    }
}
