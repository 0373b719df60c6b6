package io.guardedtuning.deploy.local;

import io.guardedtuning.attack.AttackCatalog;
import io.guardedtuning.attack.BisrForwardAttack;
import io.guardedtuning.attack.WireDefence;
import io.guardedtuning.checkpoint.ModelCatalog;
import io.guardedtuning.data.McExample;
import io.guardedtuning.data.McTask;
import io.guardedtuning.data.PackageCache;
import io.guardedtuning.data.SplitSizes;
import io.guardedtuning.data.TaskRegistry;
import io.guardedtuning.engine.DjlRuntime;
import io.guardedtuning.eval.McEncoder;
import io.guardedtuning.eval.MultipleChoiceEvaluator;
import io.guardedtuning.metrics.TextLeakage;
import io.guardedtuning.model.OptConfig;
import io.guardedtuning.model.OptModel;
import io.guardedtuning.model.Split;
import io.guardedtuning.privacy.ClientDefence;
import io.guardedtuning.privacy.DistanceCorrelation;
import io.guardedtuning.privacy.DistanceCorrelationPenalty;
import io.guardedtuning.privacy.PrivacyWarmup;
import io.guardedtuning.attack.PublicText;
import io.guardedtuning.privacy.ForwardLeakageProbe;
import io.guardedtuning.session.Precision;
import io.guardedtuning.session.SplitLanguageModel;
import io.guardedtuning.split.ActivationRegularizer;
import io.guardedtuning.split.BackboneLink;
import io.guardedtuning.split.BackboneServer;
import io.guardedtuning.split.ClientSplitTrainer;
import io.guardedtuning.split.Design;
import io.guardedtuning.split.InProcessLink;
import io.guardedtuning.tensor.HostTensor;
import io.guardedtuning.tokenizer.BpeTokenizer;
import io.guardedtuning.train.AdamW;
import io.guardedtuning.train.LearningRateSchedule;
import io.guardedtuning.train.TaskBatches;
import io.guardedtuning.train.TaskFinetuner;
import io.guardedtuning.wire.TensorCodec;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The privacy–utility frontier, in one process (the services path costs minutes per session; this one seconds):
 * for each task, design, defence and learning rate, one split session per seed with the client's defences exactly
 * as client-compute prepares them ({@link ClientDefence}), h_in through the activation codec as the wire carries it,
 * and the same layers fine-tuned centrally on the same data, order and steps as the paired reference. Every
 * {@code auditEvery}-th training step from step 0 is attacked as the provider would: SIP trained on public text
 * through the announced defence, with the pretrained copy and, for a warm-up, with a shadow the provider warmed up
 * itself from the announced recipe; the strongest counts, next to a chance floor.
 */
public final class Frontier {

    /** One defence setting: calibrated noise, a warm-up recipe, dCor weight α during training (Online). */
    public record Defence(String name, float relativeNoise, PrivacyWarmup.Recipe warmup, float alpha) {

        /**
         * {@code none}, or {@code +}-joined parts: {@code noise:R}, {@code warmup[:ALPHA[:PERTURB[:STEPS[:K[:U[:P]]]]]]} (or
         * {@code warmup-kd...}: kept usable by distillation), {@code dcor:A}.
         */
        public static Defence parse(String spec, int warmupSteps) {
            float noise = 0;
            float alpha = 0;
            PrivacyWarmup.Recipe warmup = PrivacyWarmup.Recipe.NONE;
            for (String part : spec.strip().split("\\+")) {
                String[] p = part.strip().split(":", 2);
                switch (p[0]) {
                    case "none" -> { }
                    case "noise" -> noise = Float.parseFloat(p[1]);
                    case "dcor" -> alpha = Float.parseFloat(p[1]);
                    case "warmup" -> warmup = warmup(warmupSteps, p.length > 1 ? p[1] : "");
                    case "warmup-kd" -> warmup = warmup(warmupSteps, p.length > 1 ? p[1] : "").distilled();
                    default -> throw new IllegalArgumentException("unknown defence part '" + part + "' (none, "
                            + "noise:R, warmup[-kd][:ALPHA[:PERTURB[:STEPS[:K[:UNALIGN[:UNPAIR]]]]]], dcor:A)");
                }
            }
            return new Defence(spec.strip(), noise, warmup, alpha);
        }

        /**
         * {@code ALPHA[:PERTURB[:STEPS[:CANDIDATES[:UNALIGN[:UNPAIR]]]]]}: the dCor weight (8 when empty), the secret
         * start's scale (the recipe's), the warm-up's steps (the grid's when left out), the secret starts the client
         * chooses among, and the weights of training against the moment-matching and the paired aligned reading.
         */
        private static PrivacyWarmup.Recipe warmup(int steps, String args) {
            String[] a = args.isEmpty() ? new String[0] : args.split(":");
            PrivacyWarmup.Recipe r = PrivacyWarmup.Recipe.dcorLm(a.length > 2 ? Integer.parseInt(a[2]) : steps,
                    a.length > 0 ? Float.parseFloat(a[0]) : 8f);
            r = a.length > 1 ? new PrivacyWarmup.Recipe(r.steps(), r.learningRate(), r.alpha(),
                    Float.parseFloat(a[1]), r.batch()) : r;
            r = a.length > 3 ? r.bestOf(Integer.parseInt(a[3])) : r;
            r = a.length > 4 ? r.againstAlignment(Float.parseFloat(a[4])) : r;
            return a.length > 5 ? r.againstPairedAlignment(Float.parseFloat(a[5])) : r;
        }
    }

    /** What to sweep. */
    public record Grid(List<String> tasks, List<Design> designs, List<String> defences, List<Float> learningRates,
                       List<Long> seeds, int trainSize, int evalSize, int epochs, int batchSize, int bits, int k,
                       int auditEvery, int warmupSteps, int publicRows, int sipSteps) {
    }

    /** One sampled training step's result. */
    record Scored(double rougeL, double floor, String attack) {
    }

    /** One cell of frontier.json. */
    public record Cell(String task, String design, String defence, float lr, int seeds, double accuracyMean,
                       double centralizedMean, double[] pairedDiffCi95, double maxRougeL, double floorRougeL,
                       String strongestAttack, boolean adaptive, double noiseStd, int bits, double[] accuracies,
                       double[] centralized, int scoredSteps, int testExamples, String attackers, Double chance) {

        /** The goal region: leakage at most 0.30, at most 1.5 points below centralized, which learned the task. */
        public boolean meetsGoal() {
            return maxRougeL <= 0.30 && accuracyMean >= centralizedMean - 0.015 && centralizedLearned();
        }

        /**
         * Whether centralized tuning beat chance (a uniform guess among each example's choices) by more than two
         * standard errors of its mean accuracy; where it did not, no defence can show a cost and the goal is vacuous.
         * Unknown (a cell written before chance was recorded) counts as not learned.
         */
        public boolean centralizedLearned() {
            if (chance == null) {
                return false;
            }
            double standardError = Math.sqrt(chance * (1 - chance) / ((double) testExamples * seeds));
            return centralizedMean - chance > 2 * standardError;
        }

        /** What names a cell across runs (a resumed sweep skips the cells it has, if the same attackers measured it). */
        public String key() {
            return key(task, design, defence, lr);
        }

        static String key(String task, String design, String defence, float lr) {
            return task + "|" + design + "|" + defence + "|" + lr;
        }
    }

    private final Grid grid;
    private final Consumer<String> log;
    private final OptConfig config;
    private final Map<String, HostTensor> pretrained;
    private final BpeTokenizer tokenizer;
    private final Split split;
    private final List<int[]> publicText;
    private final Map<String, Double> centralized = new HashMap<>();
    private final Map<String, ForwardLeakageProbe> auditors = new HashMap<>();

    private Frontier(Grid grid, Consumer<String> log, OptConfig config, Map<String, HostTensor> pretrained,
                     BpeTokenizer tokenizer, List<int[]> publicText) {
        this.grid = grid;
        this.log = log;
        this.config = config;
        this.pretrained = pretrained;
        this.tokenizer = tokenizer;
        this.split = Split.of(grid.k(), config);
        this.publicText = publicText;
    }

    public static Frontier load(Grid grid, String model, Consumer<String> log) throws IOException {
        DjlRuntime.configure();
        ModelCatalog.Model m = ModelCatalog.load(model);
        OptConfig config = m.config();
        Map<String, HostTensor> weights = m.tensors();
        BpeTokenizer tokenizer = m.tokenizer();
        List<int[]> text = PublicText.heldOut(new PackageCache(), tokenizer, config.bosTokenId(), grid.publicRows(),
                PublicText.WARMUP_ROW_TOKENS);
        return new Frontier(grid, log, config, weights, tokenizer, text);
    }

    /**
     * Runs every cell whose key is not in {@code skip}; {@code done} sees each as it finishes (to write results as
     * they come).
     */
    public List<Cell> run(java.util.Set<String> skip, Consumer<List<Cell>> done) throws IOException {
        List<Cell> cells = new ArrayList<>();
        for (String taskName : grid.tasks()) {
            McTask task = new TaskRegistry(new PackageCache(), new SplitSizes(grid.trainSize(),
                    Math.min(200, grid.evalSize()), grid.evalSize()), 600).resolve(taskName);
            List<McExample> train = task.train().subList(0, Math.min(grid.trainSize(), task.train().size()));
            List<McExample> test = task.test().subList(0, Math.min(grid.evalSize(), task.test().size()));
            McEncoder encoder = new McEncoder(tokenizer, config.bosTokenId(), Math.min(96,
                    config.maxPositionEmbeddings()));
            for (float lr : grid.learningRates()) {
                for (Design design : grid.designs()) {
                    for (String d : grid.defences()) {
                        Defence defence = Defence.parse(d, grid.warmupSteps());
                        if (design == Design.GRADFREE && defence.alpha() > 0
                                || skip.contains(Cell.key(taskName, design.id(), defence.name(), lr))) {
                            continue;
                        }
                        cells.add(cell(taskName, train, test, encoder, design, defence, lr));
                        done.accept(cells);
                    }
                }
            }
        }
        auditors.values().forEach(ForwardLeakageProbe::close);
        return cells;
    }

    private Cell cell(String taskName, List<McExample> train, List<McExample> test, McEncoder encoder, Design design,
                      Defence defence, float lr) {
        long started = System.nanoTime();
        List<Double> accuracies = new ArrayList<>();
        List<Double> references = new ArrayList<>();
        List<Scored> scored = new ArrayList<>();
        float std = 0;
        for (long seed : grid.seeds()) {
            Session s = session(train, test, encoder, design, defence, lr, seed);
            std = s.noiseStd;
            accuracies.add(s.accuracy);
            references.add(centralized(taskName, train, test, encoder, design, lr, seed));
            scored.addAll(s.scored);
            // A cell of many seeds runs for half an hour: say how far it is.
            log.accept(String.format(Locale.ROOT, "  %s %s %s seed %d (%d of %d): acc %.3f (centralized %.3f), "
                            + "max ROUGE-L %.3f over %d scored steps, %.0f s so far", taskName, design.id(),
                    defence.name(), seed, accuracies.size(), grid.seeds().size(), s.accuracy,
                    references.get(references.size() - 1),
                    s.scored.stream().mapToDouble(Scored::rougeL).max().orElse(Double.NaN), s.scored.size(),
                    (System.nanoTime() - started) / 1e9));
        }
        double[] acc = accuracies.stream().mapToDouble(Double::doubleValue).toArray();
        double[] ref = references.stream().mapToDouble(Double::doubleValue).toArray();
        double[] diff = new double[acc.length];
        for (int i = 0; i < acc.length; i++) {
            diff[i] = acc[i] - ref[i];
        }
        Scored worst = scored.stream().max((a, b) -> Double.compare(a.rougeL(), b.rougeL())).orElseThrow();
        Cell c = new Cell(taskName, design.id(), defence.name(), lr, acc.length, mean(acc), mean(ref), ci95(diff),
                worst.rougeL(), scored.stream().mapToDouble(Scored::floor).average().orElse(Double.NaN),
                worst.attack(), true, std, grid.bits(), acc, ref, scored.size(), test.size(), attackers(),
                test.stream().mapToDouble(e -> 1.0 / e.choices().size()).average().orElse(Double.NaN));
        log.accept(String.format(Locale.ROOT, "%s %s %-22s lr=%g acc %.3f (centralized %.3f, diff CI [%+.3f, %+.3f]) "
                        + "maxRougeL %.3f (floor %.3f, %s) in %.0f s", taskName, design.id(), defence.name(), lr,
                c.accuracyMean(), c.centralizedMean(), c.pairedDiffCi95()[0], c.pairedDiffCi95()[1], c.maxRougeL(),
                c.floorRougeL(), c.strongestAttack(), (System.nanoTime() - started) / 1e9));
        return c;
    }

    private record Session(double accuracy, float noiseStd, List<Scored> scored) {
    }

    /** One split session with the client's defences; its sampled steps attacked as the provider would. */
    private Session session(List<McExample> train, List<McExample> test, McEncoder encoder, Design design,
                            Defence defence, float lr, long seed) {
        Map<String, HostTensor> clientSide = HostTensor.select(pretrained, split.client());
        ClientDefence.Settings settings = new ClientDefence.Settings(defence.relativeNoise(), defence.warmup(), 0,
                4f, 0x7A11L * 31 + seed);
        try (OptModel client = OptModel.fromTensors(config, clientSide);
             OptModel trunk = OptModel.fromTensors(config, HostTensor.select(pretrained, split.backbone()));
             BackboneServer server = new BackboneServer(trunk, split, 8);
             ClientDefence prepared = ClientDefence.prepare(settings, client, clientSide, trunk, split, publicText,
                     List.of(), grid.bits(), null, PrivacyWarmup.OwnRows.of(encoder, train));
             DistanceCorrelationPenalty penalty = defence.alpha() > 0
                     ? new DistanceCorrelationPenalty(defence.alpha(), DistanceCorrelation.perToken()) : null;
             ClientSplitTrainer trainer = new ClientSplitTrainer(client, split, design, AdamW.Settings.defaults(),
                     LearningRateSchedule.constant(lr), penalty != null ? penalty : ActivationRegularizer.NONE,
                     true)) {
            Map<Long, HostTensor> sent = new LinkedHashMap<>();
            Map<Long, long[]> lengths = new HashMap<>();
            TaskBatches batches = new TaskBatches(train, encoder, grid.batchSize(), seed);
            BackboneLink link = prepared.around(wire(server, "train", (step, h, n) -> {
                if (step % grid.auditEvery() == 0) {
                    sent.put(step, h);
                    lengths.put(step, n);
                }
            }));
            Map<Long, List<int[]>> truth = new HashMap<>();
            for (long step = 0; step < (long) grid.epochs() * batches.batchesPerEpoch(); step++) {
                TaskBatches.Batch b = batches.next();
                if (step % grid.auditEvery() == 0) {
                    truth.put(step, b.sequences());
                }
                link.beforeBatch(b.sequences());
                trainer.step(link, b.sequences(), b.lossFrom(), b.exampleIds());
            }
            double accuracy = new MultipleChoiceEvaluator(encoder, config.padTokenId(), 16).evaluate(
                    new SplitLanguageModel(client, split, prepared.around(wire(server, "eval", (st, h, n) -> { }))),
                    test).accuracy();
            WireDefence known = prepared.wire();
            ForwardLeakageProbe auditor = auditor(defence.warmup());
            List<Scored> scored = new ArrayList<>();
            List<Long> steps = new ArrayList<>(sent.keySet());
            for (int i = 0; i < steps.size(); i++) {
                long step = steps.get(i);
                List<int[]> unrelated = truth.get(steps.get((i + 1) % steps.size()));
                scored.add(score(auditor, sent.get(step), lengths.get(step), known, truth.get(step), unrelated));
            }
            return new Session(accuracy, prepared.noiseStd(), scored);
        }
    }

    /**
     * Which attackers measure this sweep's cells. A resumed sweep runs again every cell an older or weaker set of
     * attackers measured (a cell without this field predates it: SIP only, the shadow warmed on other text).
     */
    public String attackers() {
        return String.format(Locale.ROOT, "SIP %d steps, SIP through the moment-matching affine map, BiSR(f) %d steps "
                + "from each SIP guess; the pretrained copy and "
                + "a shadow warmed from the announced recipe on its own rows; SIP on %d shadows warmed from the "
                + "provider's draws of the secret start", grid.sipSteps(), BisrForwardAttack.DEFAULT_STEPS,
                AttackCatalog.WARMUP_SEEDS);
    }

    /**
     * The keys of the cells these attackers measured over at least {@code seeds} seeds: a resumed sweep keeps those
     * and runs the others again (a sweep with more seeds replaces a cell of fewer).
     */
    public static java.util.Set<String> measuredBy(String attackers, int seeds, List<Cell> cells) {
        java.util.Set<String> keys = new java.util.HashSet<>();
        cells.stream().filter(c -> attackers.equals(c.attackers()) && c.seeds() >= seeds)
                .forEach(c -> keys.add(c.key()));
        return keys;
    }

    /**
     * The provider's attackers for a warm-up recipe: the pretrained copy and, when there is a warm-up, its shadows
     * warmed from its own draws of the secret start.
     */
    private ForwardLeakageProbe auditor(PrivacyWarmup.Recipe warmup) {
        return auditors.computeIfAbsent(warmup.spec(), spec -> {
            Map<String, HostTensor> clientSide = HostTensor.select(pretrained, split.client());
            List<List<int[]>> halves = PublicText.halves(publicText);
            ForwardLeakageProbe.WarmupMixture mixture = null;
            if (!warmup.isNone()) {
                // The warm-up's own rows: the provider knows them (the recipe announces them), not the seed.
                mixture = new ForwardLeakageProbe.WarmupMixture(pretrained, warmup, halves.get(0),
                        AttackCatalog.WARMUP_SEEDS);
            }
            return new ForwardLeakageProbe(config, split, List.of(clientSide), publicText,
                    ForwardLeakageProbe.Settings.auditors(grid.sipSteps(), BisrForwardAttack.DEFAULT_STEPS), mixture);
        });
    }

    /** Every attacker's guess scored; the strongest kept, with its score against an unrelated batch (the floor). */
    private static Scored score(ForwardLeakageProbe auditor, HostTensor wire, long[] lengths, WireDefence known,
                                List<int[]> truth, List<int[]> unrelated) {
        Scored best = null;
        for (ForwardLeakageProbe.Guess guess : auditor.reconstruct(wire, lengths, known)) {
            double rouge = TextLeakage.score(guess.tokens(), truth).rougeL();
            if (best == null || rouge > best.rougeL()) {
                best = new Scored(rouge, floor(guess.tokens(), unrelated), guess.attack() + switch (guess.weights()) {
                    case 0 -> " (pretrained copy, knows the noise and bits)";
                    case 1 -> " (shadow warm-up from the announced recipe, knows the noise and bits)";
                    default -> " (" + AttackCatalog.WARMUP_SEEDS + " shadows warmed from the provider's draws of the "
                            + "secret start, knows the noise and bits)";
                });
            }
        }
        return best;
    }

    /** ROUGE-L of each guess against a different sequence of the same task: what shared boilerplate scores. */
    private static double floor(List<int[]> guess, List<int[]> unrelated) {
        double sum = 0;
        for (int i = 0; i < guess.size(); i++) {
            sum += TextLeakage.rougeLF1(guess.get(i), unrelated.get((i + 1) % unrelated.size()));
        }
        return sum / guess.size();
    }

    interface Tap {
        void sent(long step, HostTensor received, long[] lengths);
    }

    /** The in-process backbone behind the activation codec of the wire; the tap sees h_in as the server decodes it. */
    private BackboneLink wire(BackboneServer server, String session, Tap tap) {
        TensorCodec codec = Precision.activations(grid.bits()).newCodec();
        InProcessLink inner = new InProcessLink(server, session);
        return new BackboneLink() {
            @Override
            public HostTensor forward(long step, HostTensor hIn, long[] lengths, boolean forBackward) {
                HostTensor received = codec.decode(hIn.shape(), codec.encode(hIn));
                tap.sent(step, received, lengths);
                return inner.forward(step, received, lengths, forBackward);
            }

            @Override
            public HostTensor backward(long step, HostTensor gradOut) {
                return inner.backward(step, gradOut);
            }
        };
    }

    /** The same layers fine-tuned in one process, same data, order, steps and rate: the paired reference. */
    private double centralized(String taskName, List<McExample> train, List<McExample> test, McEncoder encoder,
                               Design design, float lr, long seed) {
        String key = taskName + "/" + design + "/" + lr + "/" + seed;
        return centralized.computeIfAbsent(key, k -> {
            try (OptModel full = OptModel.fromTensors(config, pretrained)) {
                TaskFinetuner.Settings s = new TaskFinetuner.Settings(grid.epochs(), grid.batchSize(), lr, 0f,
                        seed);
                TaskFinetuner.run(full, encoder, train, design == Design.GRADFREE ? split.outputAdapter()
                        : split.adapters(), s, r -> { });
                return new MultipleChoiceEvaluator(encoder, config.padTokenId(), 16).evaluate(full::logits, test)
                        .accuracy();
            }
        });
    }

    static double mean(double[] v) {
        double s = 0;
        for (double x : v) {
            s += x;
        }
        return s / v.length;
    }

    /** Mean ± t(0.975, n−1)·sd/√n of paired differences; a point interval for one seed. */
    static double[] ci95(double[] d) {
        double m = mean(d);
        if (d.length < 2) {
            return new double[] {m, m};
        }
        double ss = 0;
        for (double x : d) {
            ss += (x - m) * (x - m);
        }
        double half = T975[Math.min(d.length - 1, T975.length - 1)] * Math.sqrt(ss / (d.length - 1) / d.length);
        return new double[] {m - half, m + half};
    }

    /** Student's t quantile 0.975 by degrees of freedom (index), 1..30; beyond that 1.96 is close enough. */
    private static final double[] T975 = {Double.NaN, 12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306,
        2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069,
        2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042};
}
