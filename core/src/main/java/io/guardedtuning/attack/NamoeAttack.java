package io.guardedtuning.attack;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.guardedtuning.engine.DjlRuntime;
import io.guardedtuning.model.TokenBatch;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A mixture of SIP experts for when the defence setting is unknown (or not what was announced), as BiSR's NaMoE:
 * one inverter per setting — the pretrained adapter (no drift, no α) and a shadow tuned under each α of a grid, all
 * through the announced wire — and a gate that picks, per sequence, the expert most confident in its inversion
 * (mean largest softmax probability over the sequence's positions; no ground truth involved). Experts are the
 * cached inverters of {@link AdaptiveSipAttack}, so settings it already trained cost nothing more.
 */
public final class NamoeAttack extends BaseAttack {

    /** @param alphas the dCor weights the shadow experts are tuned under (the pretrained expert is always added) */
    public record Settings(AdaptiveSipAttack.Settings experts, List<Float> alphas) {

        public Settings {
            alphas = List.copyOf(alphas);
        }
    }

    private final Settings settings;

    public NamoeAttack(Settings settings) {
        this.settings = settings;
    }

    @Override
    public String name() {
        return "NaMoE";
    }

    @Override
    boolean needsGradient() {
        return false;
    }

    @Override
    Guess guess(Observation o, ThreatModel threatModel) {
        KnownDefence announced = AdaptiveSipAttack.announced(o, threatModel);
        List<KnownDefence> settingsGrid = new ArrayList<>();
        List<Integer> steps = new ArrayList<>();
        settingsGrid.add(new KnownDefence("online", announced.activationBits(), announced.noiseStd(), 0f,
                announced.learningRate(), announced.warmup()));
        steps.add(0);
        for (float alpha : settings.alphas()) {
            settingsGrid.add(new KnownDefence("online", announced.activationBits(), announced.noiseStd(), alpha,
                    announced.learningRate(), announced.warmup()));
            steps.add(settings.experts().shadowSteps());
        }
        long[] lengths = o.lengths();
        int batch = lengths.length;
        int t = (int) o.hIn().shape()[1];
        long[] chosen = new long[batch * t];
        double[] best = new double[batch];
        int[] expertOf = new int[batch];
        java.util.Arrays.fill(best, -1);
        for (int e = 0; e < settingsGrid.size(); e++) {
            TokenInverter inverter = AdaptiveSipAttack.inverterFor(threatModel, settingsGrid.get(e), steps.get(e),
                    settings.experts());
            int expert = e;
            DjlRuntime.withoutGradients(() -> {
                try (NDManager scope = DjlRuntime.newManager();
                     TokenBatch b = threatModel.batchFor(scope, lengths)) {
                    NDArray logits = inverter.logits(ThreatModel.toArray(scope, o.hIn()));
                    NDArray mask = b.attentionMask();
                    float[] confidence = logits.softmax(-1).max(new int[] {-1}).mul(mask).sum(new int[] {1})
                            .div(mask.sum(new int[] {1})).toFloatArray();
                    long[] ids = logits.argMax(-1).toLongArray();
                    for (int s = 0; s < batch; s++) {
                        if (confidence[s] > best[s]) {
                            best[s] = confidence[s];
                            expertOf[s] = expert;
                            System.arraycopy(ids, s * t, chosen, s * t, t);
                        }
                    }
                    return null;
                }
            });
        }
        List<int[]> tokens = new ArrayList<>();
        StringBuilder gate = new StringBuilder();
        double confidence = 0;
        for (int s = 0; s < batch; s++) {
            int[] seq = new int[(int) lengths[s]];
            for (int i = 0; i < seq.length; i++) {
                seq[i] = (int) chosen[s * t + i];
            }
            tokens.add(seq);
            confidence += best[s] / batch;
            gate.append(s == 0 ? "" : ",").append(expertOf[s]);
        }
        List<String> names = new ArrayList<>();
        for (int e = 0; e < settingsGrid.size(); e++) {
            names.add(String.format(Locale.ROOT, "%d: α=%s/%d steps", e, settingsGrid.get(e).alpha(), steps.get(e)));
        }
        return new Guess(tokens, confidence, "experts " + names + " through wire " + announced.wire()
                + "; gate chose expert per sequence " + gate);
    }
}
