package io.guardedtuning.benchmarks;

import io.guardedtuning.attack.Attack;
import io.guardedtuning.attack.AttackCatalog;
import io.guardedtuning.attack.KnownDefence;
import io.guardedtuning.attack.Observation;
import io.guardedtuning.attack.PublicText;
import io.guardedtuning.attack.Reconstruction;
import io.guardedtuning.attack.ThreatModel;
import io.guardedtuning.attack.WireDefence;
import io.guardedtuning.data.Corpus;
import io.guardedtuning.data.Document;
import io.guardedtuning.data.PackageCache;
import io.guardedtuning.metrics.TextLeakage;
import io.guardedtuning.privacy.PrivacyWarmup;
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
 * The privacy table: for each design and defence (dCor weight α on the client, activation bits on the wire) and
 * each seed, a short split fine-tune whose sampled training steps (step 0 included, as the auditor samples) are
 * attacked exactly as the provider saw them (the h_in it decoded, and in Online the g_out it decoded beside its own
 * h_out), by the auditor's attacks with the auditor's caps ({@link AttackCatalog}). Per attack and seed the
 * leakage is the maximum ROUGE-L F1 over the sampled steps, with its chance floor (the same guess against the next
 * sampled step's rows); the table shows the mean and range over seeds, and the strongest attack per cell.
 * <p>The attacker (semi-white-box, {@link ThreatModel}) holds the pretrained weights, never the fine-tuned ones,
 * public text (the held-out corpus split, BOS-first rows) and what the session announces (Kerckhoffs): bits, α and
 * learning rate, which the adaptive attackers tune their shadows under. Gradfree trains only the output adapter,
 * so α cannot change what crosses: its cells run at α = 0 only. Seeds change the batch order, so each seed's
 * sampled steps carry other rows and the adapters drift along another path. A cell may add a privacy warm-up before
 * the first exchange ({@code design:alpha:bits:WARMUP_ALPHA:PERTURB}): the client warms its adapters from a secret
 * per seed on the announced held-out rows, and the attacks' shadows replay the announced recipe from the provider's
 * own draws.
 *
 * <pre>
 * java -cp "$CP" io.guardedtuning.benchmarks.PrivacyBenchmark [task=spam-assassin] [train=400] [test=200]
 *      [epochs=1] [lr=3e-3] [batch=8] [k=2] [tokens=96] [every=25] [seeds=1,2,3]
 *      [cells=online:0:32,online:8:32,online:32:32,online:0:4,gradfree:0:32]
 *          (design:alpha:activation bits[:warm-up alpha:secret start[:unalign[:unpair[:best of]]]], e.g.
 *          online:0:8:32:2, or online:0:8:8:2:4:0:4 for the frontier's warmup:8:2:200:4:4)
 *      [warmup-steps=200] [warmup-rows=1200]
 *      [attacks=sip,sip-aligned,sip-adaptive,sip-drift,namoe,eia,bisr-f,tag,bisr-b] [gradient-bits=32]
 *      [aux-sequences=4096] [aux-tokens=96] [sip-steps=1500] [eia-steps=300] [bisr-f-steps=100] [tag-steps=300]
 *      [bisr-b-steps=18] [shadow-steps=64] [namoe-alphas=8,32]
 * </pre>
 */
public final class PrivacyBenchmark {

    private static final String ALL_ATTACKS = String.join(",", AttackCatalog.KNOWN);
    private static final String DEFAULT_CELLS = "online:0:32,online:8:32,online:32:32,online:0:4,gradfree:0:32";

    /** One sampled step as the provider saw it, with the client's true tokens for scoring. */
    private static final class SampledStep {
        HostTensor hIn;
        long[] lengths;
        HostTensor hOut;
        HostTensor gOut;
        List<int[]> truth;

        Observation observation(String session, long step, KnownDefence announced) {
            Observation o = gOut == null ? Observation.forwardOnly(session, step, hIn, lengths)
                    : new Observation(session, step, hIn, lengths, gOut, hOut);
            return o.withDefence(announced);
        }
    }

    /** The provider's view of every sampled step of one run: steps 0, every, 2·every, … as the auditor samples. */
    private static final class Recorder implements WireSimulatedLink.ServerView {
        private final int every;
        final Map<Long, SampledStep> steps = new LinkedHashMap<>();

        Recorder(int every) {
            this.every = every;
        }

        boolean sampled(long step) {
            return step % every == 0;
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
    private record Cell(Design design, float alpha, int bits, PrivacyWarmup.Recipe warmup) {
        KnownDefence announced(float lr) {
            return new KnownDefence(design.id(), bits == 32 ? 0 : bits, 0f, alpha, lr, warmup.spec());
        }
    }

    private record FineTune(double accuracy, double bytesPerStep, Recorder sampled) {
    }

    /** One attack on one seed's run: the most exposed sampled step, its floor, and the cost of every attempt. */
    private record Worst(double rougeL, double floor, long step) {
    }

    private PrivacyBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        SplitBench.Options o = SplitBench.Options.parse(args);
        SplitBench bench = SplitBench.load(o, 96);
        int epochs = o.integer("epochs", 1);
        float lr = o.decimal("lr", 3e-3f);
        int batch = o.integer("batch", 8);
        int every = o.integer("every", 25);
        int gradientBits = o.integer("gradient-bits", 32);
        List<Integer> seeds = o.integers("seeds", "1,2,3");
        List<int[]> auxiliary = auxiliaryText(bench, o.integer("aux-sequences", 4096), o.integer("aux-tokens", 96));
        AttackCatalog.Caps caps = new AttackCatalog.Caps(o.integer("sip-steps", 1500), 256,
                o.integer("eia-steps", 300), o.integer("bisr-f-steps", 100), o.integer("tag-steps", 300),
                o.integer("bisr-b-steps", 18), o.integer("shadow-steps", 64), lr,
                o.decimals("namoe-alphas", "8,32"), o.integer("warmup-seeds", AttackCatalog.WARMUP_SEEDS));
        Map<String, Attack> attacks = AttackCatalog.attacks(Arrays.asList(o.text("attacks", ALL_ATTACKS).split(",")),
                caps);
        System.out.printf(Locale.ROOT, "task=%s train=%d test=%d epochs=%d lr=%g batch=%d k=%d tokens=%d every=%d "
                        + "seeds=%s gradient-bits=%d auxiliary=%d sequences caps=%s%n", o.text("task", "spam-assassin"),
                bench.train.size(), bench.test.size(), epochs, lr, batch, bench.split.k(), o.integer("tokens", 96),
                every, seeds, gradientBits, auxiliary.size(), caps);

        int warmupRows = o.integer("warmup-rows", 1200);
        // The client warms up on the first half of the announced rows; the provider's shadows replay it on them.
        List<int[]> warmupText = PublicText.warmupHalves(new PackageCache(), bench.tokenizer, bench.config.bosTokenId(),
                warmupRows).get(0);
        Map<Integer, ThreatModel> threatModels = new HashMap<>();
        Map<String, List<Long>> costs = new LinkedHashMap<>();
        List<String> rows = new ArrayList<>();
        for (Cell cell : cells(o, o.integer("warmup-steps", 200), warmupRows)) {
            List<Double> accuracies = new ArrayList<>();
            double bytes = 0;
            Map<String, List<Worst>> worst = new LinkedHashMap<>();
            for (int seed : seeds) {
                String session = String.format(Locale.ROOT, "%s-a%s-b%d-%s-s%d", cell.design().id(), cell.alpha(),
                        cell.bits(), cell.warmup().spec(), seed);
                FineTune run = fineTune(bench, cell, session, epochs, batch, lr, gradientBits, every, seed,
                        warmupText);
                accuracies.add(run.accuracy());
                bytes = run.bytesPerStep();
                ThreatModel threatModel = threatModels.computeIfAbsent(cell.bits(), b -> ThreatModel.of(bench.config,
                        bench.split, bench.pretrained, auxiliary, ThreatModel.LossNormalisation.MEAN_OVER_TARGETS,
                        new WireDefence(b == 32 ? 0 : b, 0f), recipe -> warmupText));
                attack(attacks, threatModel, session, run.sampled(), cell.announced(lr), costs)
                        .forEach((a, w) -> worst.computeIfAbsent(a, x -> new ArrayList<>()).add(w));
                System.out.printf(Locale.ROOT, "%s: accuracy %.4f, %d sampled steps, %s%n", session, run.accuracy(),
                        run.sampled().steps.size(), worst);
            }
            rows.add(row(cell, accuracies, bytes, attacks.keySet(), worst));
            System.out.println(rows.get(rows.size() - 1));
        }
        System.out.println();
        System.out.println("| design | α | act bits | warm-up | acc mean (min–max) | payload bytes/step | "
                + String.join(" | ", attacks.keySet()) + " | strongest: max ROUGE-L (floor) |");
        System.out.println("|---|---:|---:|---|---:|---:|" + "---|".repeat(attacks.size()) + "---|");
        rows.forEach(System.out::println);
        System.out.println();
        System.out.println("| attack | attempts | mean ms per sampled step | max ms (first use trains the attacker) |");
        System.out.println("|---|---:|---:|---:|");
        costs.forEach((a, ms) -> System.out.printf(Locale.ROOT, "| %s | %d | %.0f | %d |%n", a, ms.size(),
                ms.stream().mapToLong(Long::longValue).average().orElse(Double.NaN),
                ms.stream().mapToLong(Long::longValue).max().orElse(0)));
        threatModels.values().forEach(ThreatModel::close);
    }

    /** Per attack, the mean over seeds of its worst step (and the range); last, the strongest attack's figures. */
    private static String row(Cell cell, List<Double> accuracies, double bytes, Iterable<String> attackIds,
                              Map<String, List<Worst>> worst) {
        StringBuilder row = new StringBuilder(String.format(Locale.ROOT, "| %s | %s | %d | %s | %s | %.0f |",
                cell.design().id(), cell.alpha(), cell.bits(), cell.warmup().isNone() ? "none"
                        : String.format(Locale.ROOT, "α %s, start %s, unalign %s, unpair %s, best of %d",
                        cell.warmup().alpha(), cell.warmup().perturbation(), cell.warmup().unalign(),
                        cell.warmup().unpair(), cell.warmup().candidates()),
                spread(accuracies, "%.3f"), bytes));
        String strongest = null;
        double strongestMean = -1;
        for (String a : attackIds) {
            List<Worst> w = worst.get(a);
            if (w == null) {
                row.append(" – |");
                continue;
            }
            List<Double> rouge = w.stream().map(Worst::rougeL).toList();
            row.append(' ').append(spread(rouge, "%.3f")).append(" |");
            double mean = rouge.stream().mapToDouble(Double::doubleValue).average().orElse(0);
            if (mean > strongestMean) {
                strongestMean = mean;
                strongest = a;
            }
        }
        List<Double> floors = worst.get(strongest).stream().map(Worst::floor).toList();
        return row.append(String.format(Locale.ROOT, " %s %.3f (%.3f) |", strongest, strongestMean,
                floors.stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN))).toString();
    }

    private static String spread(List<Double> values, String format) {
        double mean = values.stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN);
        double min = values.stream().mapToDouble(Double::doubleValue).min().orElse(Double.NaN);
        double max = values.stream().mapToDouble(Double::doubleValue).max().orElse(Double.NaN);
        return String.format(Locale.ROOT, format + " (" + format + "–" + format + ")", mean, min, max);
    }

    /**
     * A short split fine-tune through the wire codecs, with the provider's view of its sampled steps; a cell's
     * warm-up runs first, from a secret of this seed's, on the announced rows.
     */
    private static FineTune fineTune(SplitBench bench, Cell cell, String session, int epochs, int batch, float lr,
                                     int gradientBits, int every, long seed, List<int[]> warmupText) {
        Recorder recorder = new Recorder(every);
        try (SplitBench.Parties p = bench.parties(cell.design(), cell.alpha(), lr)) {
            PrivacyWarmup.runBestOf(cell.warmup(), p.client, p.trunk, bench.split, warmupText, 0x7A11L * 31 + seed,
                    PrivacyWarmup.OwnRows.of(bench.encoder, bench.train));
            WireSimulatedLink link = new WireSimulatedLink(p.server, session, cell.bits(), cell.bits(), gradientBits,
                    gradientBits, recorder);
            TaskBatches batches = new TaskBatches(bench.train, bench.encoder, batch, seed);
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
     * The cells: {@code cells=design:alpha:bits[:warmupAlpha:perturb[:unalign[:unpair[:candidates]]]],...}: with
     * candidates &gt; 1 the client warms that many secret starts and keeps the one its own training rows find most
     * usable. Gradfree's α must be 0 (its input adapter never trains).
     */
    private static List<Cell> cells(SplitBench.Options o, int warmupSteps, int warmupRows) {
        return Arrays.stream(o.text("cells", DEFAULT_CELLS).split(",")).map(c -> c.trim().split(":"))
                .map(p -> new Cell(Design.valueOf(p[0].toUpperCase(Locale.ROOT)), Float.parseFloat(p[1]),
                        Integer.parseInt(p[2]), p.length < 5 ? PrivacyWarmup.Recipe.NONE
                        : new PrivacyWarmup.Recipe(warmupSteps, 1e-3f, Float.parseFloat(p[3]),
                        Float.parseFloat(p[4]), 8, warmupRows)
                        .againstAlignment(p.length > 5 ? Float.parseFloat(p[5]) : 0f)
                        .againstPairedAlignment(p.length > 6 ? Float.parseFloat(p[6]) : 0f)
                        .bestOf(p.length > 7 ? Integer.parseInt(p[7]) : 1))).toList();
    }

    /** Every applicable attack on every sampled step; per attack the most exposed step and its floor. */
    private static Map<String, Worst> attack(Map<String, Attack> attacks, ThreatModel threatModel, String session,
                                             Recorder recorder, KnownDefence announced,
                                             Map<String, List<Long>> costs) {
        List<Long> steps = new ArrayList<>(recorder.steps.keySet());
        Map<String, Worst> out = new LinkedHashMap<>();
        attacks.forEach((name, attack) -> {
            for (int i = 0; i < steps.size(); i++) {
                SampledStep s = recorder.steps.get(steps.get(i));
                Observation observation = s.observation(session, steps.get(i), announced);
                if (!attack.applicable(observation)) {
                    continue;
                }
                Reconstruction r = attack.attack(observation, threatModel);
                if (!r.succeeded()) {
                    System.out.printf("%s on %s step %d reconstructed nothing: %s%n", name, session, steps.get(i),
                            r.detail());
                }
                costs.computeIfAbsent(name, x -> new ArrayList<>()).add(r.costMillis());
                double rouge = TextLeakage.score(r.tokens(), s.truth).rougeL();
                // The floor: the same guess against an unrelated batch of the task (the next sampled step's rows).
                List<int[]> unrelated = recorder.steps.get(steps.get((i + 1) % steps.size())).truth;
                double floor = TextLeakage.score(r.tokens(), unrelated).rougeL();
                Worst previous = out.get(name);
                if (previous == null || rouge > previous.rougeL()) {
                    out.put(name, new Worst(rouge, floor, steps.get(i)));
                }
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
