package io.guardedtuning.benchmarks;

import io.guardedtuning.attack.Attack;
import io.guardedtuning.attack.BisrBackwardAttack;
import io.guardedtuning.attack.BisrForwardAttack;
import io.guardedtuning.attack.EiaAttack;
import io.guardedtuning.attack.GradientMatching;
import io.guardedtuning.attack.Observation;
import io.guardedtuning.attack.PublicText;
import io.guardedtuning.attack.Reconstruction;
import io.guardedtuning.attack.SipAttack;
import io.guardedtuning.attack.TagAttack;
import io.guardedtuning.attack.ThreatModel;
import io.guardedtuning.attack.WireDefence;
import io.guardedtuning.data.Corpus;
import io.guardedtuning.data.Document;
import io.guardedtuning.data.PackageCache;
import io.guardedtuning.metrics.TextLeakage;
import io.guardedtuning.session.SplitLanguageModel;
import io.guardedtuning.split.Design;
import io.guardedtuning.tensor.HostTensor;
import io.guardedtuning.train.TaskBatches;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The privacy table: for each design and defence (dCor weight α on the client, activation bits on the wire), a short
 * split fine-tune whose sampled steps are attacked exactly as the provider saw them (the h_in it decoded, and in
 * Online the g_out it decoded beside its own h_out); mean ROUGE-L F1 and token-set F1 of each attack against the
 * step's true tokens, the accuracy after the fine-tune and the payload bytes per step.
 * <p>The attacker (semi-white-box, {@link ThreatModel}) holds the pretrained client-side weights, never the
 * fine-tuned ones, public auxiliary text (held-out corpus documents, capped) and the wire defence (bits), not α.
 * Gradfree trains only the output adapter, so α cannot change what crosses: its cells run at α = 0 only.
 *
 * <pre>
 * java -cp "$CP" io.guardedtuning.benchmarks.PrivacyBenchmark [task=spam-assassin] [train=800] [test=300]
 *      [epochs=1] [lr=3e-3] [batch=8] [k=2] [tokens=96] [every=10] [alphas=0,1,8,32] [bits=32,8,4]
 *      [designs=online,gradfree] [cells=online:8:4,...] [gradient-bits=32] [aux-sequences=4096] [aux-tokens=96]
 *      [sip-steps=1500] [eia-steps=300] [tag-steps=300]
 * </pre>
 */
public final class PrivacyBenchmark {

    private static final List<String> ATTACKS = List.of("sip", "eia", "bisr-f", "tag", "bisr-b");

    /** One sampled step as the provider saw it, with the client's true tokens for scoring. */
    private static final class SampledStep {
        HostTensor hIn;
        long[] lengths;
        HostTensor hOut;
        HostTensor gOut;
        List<int[]> truth;

        Observation observation(String session, long step) {
            return gOut == null ? Observation.forwardOnly(session, step, hIn, lengths)
                    : new Observation(session, step, hIn, lengths, gOut, hOut);
        }
    }

    /** The provider's view of every sampled step of one run. */
    private static final class Recorder implements WireSimulatedLink.ServerView {
        private final int every;
        final Map<Long, SampledStep> steps = new LinkedHashMap<>();

        Recorder(int every) {
            this.every = every;
        }

        /** Steps every-1, 2·every-1, ...: each after every-1 more updates, so the defence has had time to act. */
        boolean sampled(long step) {
            return (step + 1) % every == 0;
        }

        @Override
        public void forward(long step, HostTensor receivedHIn, long[] lengths, HostTensor hOut) {
            if (sampled(step)) {
                SampledStep s = steps.computeIfAbsent(step, x -> new SampledStep());
                s.hIn = receivedHIn;
                s.lengths = lengths.clone();
                s.hOut = hOut;
            }
        }

        @Override
        public void backward(long step, HostTensor receivedGOut) {
            if (sampled(step)) {
                steps.get(step).gOut = receivedGOut;
            }
        }
    }

    /** One row of the table: a design and its defence. */
    private record Cell(Design design, float alpha, int bits) {
    }

    private record FineTune(double accuracy, double bytesPerStep, Recorder sampled) {
    }

    private record Leakage(double rougeL, double tokenSetF1) {
    }

    private PrivacyBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        SplitBench.Options o = SplitBench.Options.parse(args);
        SplitBench bench = SplitBench.load(o, 96);
        int epochs = o.integer("epochs", 1);
        float lr = o.decimal("lr", 3e-3f);
        int batch = o.integer("batch", 8);
        int every = o.integer("every", 10);
        int gradientBits = o.integer("gradient-bits", 32);
        List<int[]> auxiliary = auxiliaryText(bench, o.integer("aux-sequences", 4096), o.integer("aux-tokens", 96));
        SipAttack sip = new SipAttack(new SipAttack.Settings(256, 20, 6, 1e-3f, 1e-5f, o.integer("sip-steps", 1500),
                17));
        Map<String, Attack> attacks = attacks(sip, o.integer("eia-steps", 300), o.integer("tag-steps", 300));
        System.out.printf(Locale.ROOT, "task=%s train=%d test=%d epochs=%d lr=%g batch=%d k=%d tokens=%d every=%d "
                        + "gradient-bits=%d auxiliary=%d sequences%n", o.text("task", "spam-assassin"),
                bench.train.size(), bench.test.size(), epochs, lr, batch, bench.split.k(),
                o.integer("tokens", 96), every, gradientBits, auxiliary.size());

        Map<Integer, ThreatModel> threatModels = new HashMap<>();
        Map<String, List<Long>> costs = new LinkedHashMap<>();
        List<String> rows = new ArrayList<>();
        for (Cell cell : cells(o)) {
            String session = String.format(Locale.ROOT, "%s-a%s-b%d", cell.design(), cell.alpha(), cell.bits());
            FineTune run = fineTune(bench, cell, session, epochs, batch, lr, gradientBits, every);
            ThreatModel threatModel = threatModels.computeIfAbsent(cell.bits(), b -> threatModel(bench, auxiliary, b,
                    sip, run.sampled()));
            Map<String, Leakage> leakage = attack(attacks, threatModel, session, run.sampled(), costs);
            StringBuilder row = new StringBuilder(String.format(Locale.ROOT, "| %s | %s | %d | %.4f | %.0f |",
                    cell.design().name().toLowerCase(Locale.ROOT), cell.alpha(), cell.bits(), run.accuracy(),
                    run.bytesPerStep()));
            for (String a : ATTACKS) {
                Leakage l = leakage.get(a);
                row.append(l == null ? " – |" : String.format(Locale.ROOT, " %.3f / %.3f |", l.rougeL(),
                        l.tokenSetF1()));
            }
            rows.add(row.toString());
            System.out.println(row + " (" + run.sampled().steps.size() + " sampled steps)");
        }
        System.out.println();
        System.out.println("| design | α | act bits | acc | payload bytes/step | " + String.join(" | ", ATTACKS.stream()
                .map(a -> a + " ROUGE-L / tok-F1").toList()) + " |");
        System.out.println("|---|---:|---:|---:|---:|" + "---|".repeat(ATTACKS.size()));
        rows.forEach(System.out::println);
        System.out.println();
        System.out.println("| attack | sampled steps attacked | mean ms per step | max ms |");
        System.out.println("|---|---:|---:|---:|");
        costs.forEach((a, ms) -> System.out.printf(Locale.ROOT, "| %s | %d | %.0f | %d |%n", a, ms.size(),
                ms.stream().mapToLong(Long::longValue).average().orElse(Double.NaN),
                ms.stream().mapToLong(Long::longValue).max().orElse(0)));
        threatModels.values().forEach(ThreatModel::close);
    }

    /** A short split fine-tune through the wire codecs, with the provider's view of its sampled steps. */
    private static FineTune fineTune(SplitBench bench, Cell cell, String session, int epochs, int batch, float lr,
                                     int gradientBits, int every) {
        Recorder recorder = new Recorder(every);
        try (SplitBench.Parties p = bench.parties(cell.design(), cell.alpha(), lr)) {
            WireSimulatedLink link = new WireSimulatedLink(p.server, session, cell.bits(), cell.bits(), gradientBits,
                    gradientBits, recorder);
            TaskBatches batches = new TaskBatches(bench.train, bench.encoder, batch, 1);
            long steps = (long) epochs * batches.batchesPerEpoch();
            for (long step = 0; step < steps; step++) {
                TaskBatches.Batch b = batches.next();
                p.trainer.step(link, b.sequences(), b.lossFrom(), b.exampleIds());
                if (recorder.steps.containsKey(step)) {
                    recorder.steps.get(step).truth = b.sequences();
                }
            }
            double accuracy = bench.accuracy(new SplitLanguageModel(p.client, bench.split, new WireSimulatedLink(
                    p.server, session + "-eval", cell.bits(), cell.bits(), gradientBits, gradientBits,
                    WireSimulatedLink.ServerView.NONE)));
            return new FineTune(accuracy, (double) (link.bytesUp() + link.bytesDown()) / steps, recorder);
        }
    }

    /**
     * The cells: {@code cells=design:alpha:bits,...} if given, else every design × α × bits, Gradfree at α = 0 only
     * (its input adapter does not train, so α cannot change what it sends).
     */
    private static List<Cell> cells(SplitBench.Options o) {
        if (o.values().containsKey("cells")) {
            return Arrays.stream(o.text("cells", "").split(",")).map(c -> c.trim().split(":"))
                    .map(p -> new Cell(Design.valueOf(p[0].toUpperCase(Locale.ROOT)), Float.parseFloat(p[1]),
                            Integer.parseInt(p[2]))).toList();
        }
        List<Cell> out = new ArrayList<>();
        for (String d : o.text("designs", "online,gradfree").split(",")) {
            Design design = Design.valueOf(d.trim().toUpperCase(Locale.ROOT));
            for (float alpha : design == Design.ONLINE ? o.decimals("alphas", "0,1,8,32") : List.of(0f)) {
                for (int bits : o.integers("bits", "32,8,4")) {
                    out.add(new Cell(design, alpha, bits));
                }
            }
        }
        return out;
    }

    /** The auditor's attacks and CPU caps (docs/audit.md); BiSR(f) and BiSR(b) start from the shared SIP. */
    private static Map<String, Attack> attacks(SipAttack sip, int eiaSteps, int tagSteps) {
        GradientMatching.Settings tag = GradientMatching.Settings.tag();
        Map<String, Attack> out = new LinkedHashMap<>();
        out.put("sip", sip);
        out.put("eia", new EiaAttack(new EiaAttack.Settings(eiaSteps, 0.09f, 0.01f, 0.2f)));
        out.put("bisr-f", new BisrForwardAttack(sip, BisrForwardAttack.Settings.defaults()));
        out.put("tag", new TagAttack(new GradientMatching.Settings(tagSteps, tag.learningRate(), tag.beta(),
                tag.weightDecay(), tag.relativeStep()), 7));
        out.put("bisr-b", new BisrBackwardAttack(sip, GradientMatching.Settings.bisr(), 1.2f));
        return out;
    }

    /**
     * The attacker for a known wire defence: pretrained client-side weights, auxiliary text, the loss normalisation;
     * its SIP inverter is trained here once (on the first sampled step) so that attack costs exclude it.
     */
    private static ThreatModel threatModel(SplitBench bench, List<int[]> auxiliary, int bits, SipAttack sip,
                                           Recorder firstRun) {
        ThreatModel tm = ThreatModel.of(bench.config, bench.split, bench.pretrained, auxiliary,
                ThreatModel.LossNormalisation.MEAN_OVER_TARGETS, new WireDefence(bits == 32 ? 0 : bits, 0f));
        var first = firstRun.steps.entrySet().iterator().next();
        Reconstruction r = sip.attack(first.getValue().observation("sip-training", first.getKey()), tm);
        System.out.printf(Locale.ROOT, "SIP inverter for %d-bit h_in trained in %d ms (%s)%n", bits, r.costMillis(),
                r.detail());
        return tm;
    }

    private static Map<String, Leakage> attack(Map<String, Attack> attacks, ThreatModel threatModel, String session,
                                               Recorder recorder, Map<String, List<Long>> costs) {
        Map<String, Leakage> out = new LinkedHashMap<>();
        attacks.forEach((name, attack) -> {
            double rouge = 0;
            double set = 0;
            int samples = 0;
            for (var e : recorder.steps.entrySet()) {
                Observation observation = e.getValue().observation(session, e.getKey());
                if (!attack.applicable(observation)) {
                    continue;
                }
                Reconstruction r = attack.attack(observation, threatModel);
                if (!r.succeeded()) {
                    System.out.printf("%s on %s step %d reconstructed nothing: %s%n", name, session, e.getKey(),
                            r.detail());
                }
                TextLeakage.Scores s = TextLeakage.score(r.tokens(), e.getValue().truth);
                rouge += s.rougeL();
                set += s.tokenSetF1();
                samples++;
                costs.computeIfAbsent(name, x -> new ArrayList<>()).add(r.costMillis());
            }
            if (samples > 0) {
                out.put(name, new Leakage(rouge / samples, set / samples));
            }
        });
        return out;
    }

    /** The whole held-out split of the pretraining corpus, in rows that start like the client's (BOS first). */
    private static List<int[]> auxiliaryText(SplitBench bench, int maxSequences, int sequenceTokens)
            throws IOException {
        return PublicText.rows(Corpus.load(new PackageCache()).heldOut().stream().map(Document::text).toList(),
                bench.tokenizer, bench.config.bosTokenId(), sequenceTokens, maxSequences);
    }
}
