package io.guardedtuning.attack;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.guardedtuning.engine.DjlRuntime;

/**
 * BiSR(b): gradient matching on {@code g_out} (see {@link GradientMatching}) starting from SIP's logits divided by a
 * temperature (1.2 by default) instead of random logits, so that the few steps refine a good guess. Online only.
 */
public final class BisrBackwardAttack extends BaseAttack {

    private final SipAttack sip;
    private final GradientMatching.Settings settings;
    private final float startTemperature;

    public BisrBackwardAttack(SipAttack sip, GradientMatching.Settings settings, float startTemperature) {
        if (!(startTemperature > 0)) {
            throw new IllegalArgumentException("startTemperature must be > 0, got " + startTemperature);
        }
        this.sip = sip;
        this.settings = settings;
        this.startTemperature = startTemperature;
    }

    public BisrBackwardAttack(SipAttack sip) {
        this(sip, GradientMatching.Settings.bisr(), 1.2f);
    }

    @Override
    public String name() {
        return "BiSR(b)";
    }

    @Override
    boolean needsGradient() {
        return true;
    }

    @Override
    Guess guess(Observation o, ThreatModel threatModel) {
        try (NDManager scope = DjlRuntime.newManager()) {
            NDArray start = DjlRuntime.withoutGradients(
                    () -> sip.logits(o, threatModel, scope).div(startTemperature));
            return GradientMatching.run(o, threatModel, scope, start, settings, "SIP logits / " + startTemperature);
        }
    }
}
