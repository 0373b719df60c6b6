package io.guardedtuning.benchmarks;

import ai.djl.ndarray.NDManager;
import io.guardedtuning.attack.AdaptiveSipAttack;
import io.guardedtuning.attack.AffineAlignment;
import io.guardedtuning.attack.AlignedSipAttack;
import io.guardedtuning.attack.KnownDefence;
import io.guardedtuning.attack.Observation;
import io.guardedtuning.attack.PublicText;
import io.guardedtuning.attack.Reconstruction;
import io.guardedtuning.attack.SelfTrainedAttack;
import io.guardedtuning.attack.SipAttack;
import io.guardedtuning.attack.ThreatModel;
import io.guardedtuning.attack.WireDefence;
import io.guardedtuning.checkpoint.ModelCatalog;
import io.guardedtuning.data.Corpus;
import io.guardedtuning.data.Document;
import io.guardedtuning.data.McTask;
import io.guardedtuning.data.PackageCache;
import io.guardedtuning.data.SplitSizes;
import io.guardedtuning.data.TaskRegistry;
import io.guardedtuning.engine.DjlRuntime;
import io.guardedtuning.eval.McEncoder;
import io.guardedtuning.metrics.TextLeakage;
import io.guardedtuning.model.OptConfig;
import io.guardedtuning.model.OptModel;
import io.guardedtuning.model.Split;
import io.guardedtuning.model.TinyOpt;
import io.guardedtuning.model.TokenBatch;
import io.guardedtuning.privacy.PrivacyWarmup;
import io.guardedtuning.session.Precision;
import io.guardedtuning.split.Design;
import io.guardedtuning.tensor.HostTensor;
import io.guardedtuning.tokenizer.BpeTokenizer;
import io.guardedtuning.wire.TensorCodec;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

/**
 * Issue 13: on which text must the provider replay an announced privacy warm-up for its adaptive SIP to follow the
 * client? A Gradfree client on the bundled model warms its input adapter from a secret seed on its warm-up rows
 * (the first half of the held-out rows the recipe announces); its h_in of private rows (the corpus' training
 * documents) is attacked by SIP on the pretrained adapter, and by SIP through shadows warmed from the provider's
 * seed on (a) the client's own warm-up rows, as the auditor now does, (b) the other half, as the client's check did,
 * (c) the auditor's 256-token auxiliary rows, as the auditor did. The oracle trains SIP on the client's own adapter,
 * which no provider has: the ceiling. Every inverter trains on the auditor's auxiliary text with the same recipe.
 *
 * <pre>
 * java -cp "$CP" io.guardedtuning.benchmarks.WarmupShadowBenchmark [rows=480] [private=16] [secrets=1,2,3]
 *      [sip-steps=400] [warmup-steps=120] [alpha=32] [perturb=0.1] [shadows=all|client] [private-tokens=48]
 *      [private-task=NAME] [bits=0] [attacker-tokens=256] [mixture=0] [mixture-only=false] [oracle=true]
 *      [self=ROUNDS:STEPS:LR:SHARE:K;...] [affine=false]
 *      [aligned=ROWS:ROUNDS:STEPS:LR:SHARE:RIDGE;...] [unalign=0] [unpair=0]
 * </pre>
 * {@code perturb} is the scale of the secret start, {@code unalign} and {@code unpair} the warm-up's weights against
 * the moment-matching and the paired aligned reading; {@code shadows=client} runs only the shadow the auditor uses;
 * {@code private-tokens} is the length of the private rows (the warm-up tunes on 48-token rows);
 * {@code private-task} takes them from a task's training examples as the client encodes them; {@code bits} sends
 * h_in through that activation codec (every inverter trains through it); {@code attacker-tokens} is the length of
 * the inverters' public rows; {@code mixture=K} adds SIP trained on K shadows warmed from K provider draws of the
 * secret start; {@code mixture-only} skips the other columns' attacks, {@code oracle=false} the oracle; each
 * {@code self} setting adds, after each shadow column, that column's attacker adapted to the observed h_in
 * ({@link SelfTrainedAttack}); {@code affine} prints, beside each secret's row, the affine-alignment bound and
 * each {@code aligned} setting's {@link AlignedSipAttack}.
 */
public final class WarmupShadowBenchmark {

    private WarmupShadowBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        SplitBench.Options o = SplitBench.Options.parse(args);
        DjlRuntime.configure();
        ModelCatalog.Model model = ModelCatalog.load(TinyOpt.NAME);
        OptConfig config = model.config();
        Map<String, HostTensor> pretrained = model.tensors();
        BpeTokenizer tokenizer = model.tokenizer();
        PackageCache cache = new PackageCache();
        Split split = Split.of(2, config);
        int rows = o.integer("rows", 480);
        PrivacyWarmup.Recipe recipe = new PrivacyWarmup.Recipe(o.integer("warmup-steps", 120), 1e-3f,
                Float.parseFloat(o.text("alpha", "32")), Float.parseFloat(o.text("perturb", "0.1")), 8, rows)
                .againstAlignment(Float.parseFloat(o.text("unalign", "0")))
                .againstPairedAlignment(Float.parseFloat(o.text("unpair", "0")));
        List<List<int[]>> halves = PublicText.warmupHalves(cache, tokenizer, config.bosTokenId(), rows);
        List<int[]> auxiliary = PublicText.heldOut(cache, tokenizer, config.bosTokenId(), PublicText.ATTACKER_MAX_ROWS,
                o.integer("attacker-tokens", PublicText.ATTACKER_ROW_TOKENS));
        List<int[]> privateRows = privateRows(o, cache, tokenizer, config);
        WireDefence wire = new WireDefence(o.integer("bits", 0), 0f);
        SipAttack.Settings inverter = new SipAttack.Settings(256, 20, 8, 1e-3f, 1e-5f, o.integer("sip-steps", 400), 17);
        Map<String, Function<PrivacyWarmup.Recipe, List<int[]>>> shadowTexts = new LinkedHashMap<>();
        shadowTexts.put("shadow on the client's warm-up rows (auditor now)", r -> halves.get(0));
        int mixture = o.integer("mixture", 0);
        boolean mixtureOnly = Boolean.parseBoolean(o.text("mixture-only", "false"));
        boolean oracleColumn = Boolean.parseBoolean(o.text("oracle", "true"));
        boolean affine = Boolean.parseBoolean(o.text("affine", "false"));
        List<AlignedSipAttack.Settings> aligned = new ArrayList<>();
        for (String a : o.text("aligned", "").split(";")) {
            if (!a.isBlank()) {
                String[] p = a.split(":");
                aligned.add(new AlignedSipAttack.Settings(Integer.parseInt(p[0]), Integer.parseInt(p[1]),
                        Integer.parseInt(p[2]), Float.parseFloat(p[3]), Float.parseFloat(p[4]),
                        Float.parseFloat(p[5])));
            }
        }
        if (mixture > 1) {
            shadowTexts.put("mixture of " + mixture + " shadow draws on the client's warm-up rows", r -> halves.get(0));
        }
        if (!o.text("shadows", "all").equals("client")) {
            shadowTexts.put("shadow on the other half (client's check before)", r -> halves.get(1));
            shadowTexts.put("shadow on the 256-token auxiliary rows (auditor before)", r -> auxiliary);
        }
        List<SelfTrainedAttack.Settings> selfTraining = new ArrayList<>();
        for (String st : o.text("self", "").split(";")) {
            if (!st.isBlank()) {
                String[] p = st.split(":");
                selfTraining.add(new SelfTrainedAttack.Settings(Integer.parseInt(p[0]), Integer.parseInt(p[1]),
                        Float.parseFloat(p[2]), Float.parseFloat(p[3]), Integer.parseInt(p[4])));
            }
        }
        System.out.printf(Locale.ROOT, "recipe %s; %d private rows; SIP %d steps on %d auxiliary rows%n",
                recipe.spec(), privateRows.size(), inverter.maxSteps(), auxiliary.size());
        List<String> columns = new ArrayList<>();
        for (String text : shadowTexts.keySet()) {
            columns.add(text);
            selfTraining.forEach(st -> columns.add("adapted to h_in " + st));
        }
        System.out.println("| client secret | SIP on pretrained | " + String.join(" | ", columns)
                + " | oracle: SIP on the client's adapter |");
        System.out.println("|---|---:|" + "---:|".repeat(columns.size() + 1));
        for (String secret : o.text("secrets", "1,2,3").split(",")) {
            Map<String, HostTensor> warmed;
            try (OptModel client = OptModel.fromTensors(config, pretrained)) {
                PrivacyWarmup.run(recipe, client, client, split, halves.get(0), Long.parseLong(secret.strip()));
                warmed = client.toTensors(n -> true);
            }
            Observation step = observe(config, warmed, split, privateRows, wire)
                    .withDefence(new KnownDefence(Design.GRADFREE.id(), wire.activationBits(), 0f, 0f, 1e-3f,
                            recipe.spec()));
            StringBuilder row = new StringBuilder("| " + secret.strip() + " | ");
            try (ThreatModel plain = threatModel(config, split, pretrained, auxiliary, wire, null)) {
                row.append(mixtureOnly ? "-" : rouge(new SipAttack(inverter).attack(step, plain), privateRows))
                        .append(" | ");
                if (affine) {
                    alignment(config, pretrained, split, privateRows, step, plain, inverter, secret.strip(), aligned);
                }
            }
            for (Map.Entry<String, Function<PrivacyWarmup.Recipe, List<int[]>>> text : shadowTexts.entrySet()) {
                if (mixtureOnly && !text.getKey().startsWith("mixture")) {
                    row.append("- | ".repeat(1 + selfTraining.size()));
                    continue;
                }
                int draws = text.getKey().startsWith("mixture") ? mixture : 1;
                try (ThreatModel tm = threatModel(config, split, pretrained, auxiliary, wire, text.getValue())) {
                    AdaptiveSipAttack adaptive = AdaptiveSipAttack.underDefence(new AdaptiveSipAttack.Settings(
                            inverter, 0, 8, 1e-3f, draws));
                    row.append(rouge(adaptive.attack(step, tm), privateRows)).append(" | ");
                    for (SelfTrainedAttack.Settings st : selfTraining) {
                        row.append(rouge(new SelfTrainedAttack(adaptive, st).attack(step, tm), privateRows))
                                .append(" | ");
                    }
                }
            }
            if (!oracleColumn) {
                System.out.println(row);
                continue;
            }
            try (ThreatModel oracle = threatModel(config, split, warmed, auxiliary, wire, null)) {
                row.append(rouge(new SipAttack(inverter).attack(step, oracle), privateRows)).append(" |");
            }
            System.out.println(row);
        }
    }

    /**
     * The private rows: BOS-led rows of the corpus' training documents, or with {@code private-task=NAME} the
     * task's first training examples encoded as the client encodes them (context and answer).
     */
    private static List<int[]> privateRows(SplitBench.Options o, PackageCache cache, BpeTokenizer tokenizer,
                                           OptConfig config) throws java.io.IOException {
        int tokens = o.integer("private-tokens", PublicText.WARMUP_ROW_TOKENS);
        int count = o.integer("private", 16);
        String task = o.text("private-task", "");
        if (task.isEmpty()) {
            return PublicText.rows(Corpus.load(cache).train().stream().limit(8).map(Document::text).toList(),
                    tokenizer, config.bosTokenId(), tokens, count);
        }
        McTask t = new TaskRegistry(cache, new SplitSizes(count, 1, 1), 600).resolve(task);
        McEncoder encoder = new McEncoder(tokenizer, config.bosTokenId(), Math.min(tokens,
                config.maxPositionEmbeddings()));
        return t.train().stream().limit(count).map(e -> encoder.encodeAnswer(e).tokens()).toList();
    }

    /**
     * The affine-alignment bound: an {@link AffineAlignment} fitted with the true pairing on the first half of the
     * private rows; SIP on the pretrained adapter reads the second half's client h_in, as it is and mapped. Then
     * each {@link AlignedSipAttack} setting, which estimates the map without ground truth, on all rows. One line each.
     */
    private static void alignment(OptConfig config, Map<String, HostTensor> pretrained, Split split,
                                  List<int[]> privateRows, Observation step, ThreatModel plain,
                                  SipAttack.Settings inverter, String secret, List<AlignedSipAttack.Settings> aligned) {
        int fitRows = privateRows.size() / 2;
        List<int[]> heldOut = privateRows.subList(fitRows, privateRows.size());
        HostTensor reference = observe(config, pretrained, split, privateRows, new WireDefence(0, 0f)).hIn();
        SipAttack sip = new SipAttack(inverter);
        StringBuilder line = new StringBuilder(String.format(Locale.ROOT,
                "affine bound, secret %s, fitted with the truth on %d rows, read on %d: as sent %s", secret, fitRows,
                heldOut.size(), rouge(sip.attack(rows(step, fitRows), plain), heldOut)));
        for (double ridge : new double[] {1e-6, 1e-4, 1e-2}) {
            AffineAlignment.HeldOut fit = AffineAlignment.HeldOut.fit(step.hIn(), reference, step.lengths(), fitRows,
                    ridge);
            Observation mapped = Observation.forwardOnly(step.session(), step.step(), fit.mapped(), fit.lengths());
            line.append(String.format(Locale.ROOT, "; ridge %s: R² %.3f, SIP %s", ridge, fit.r2(),
                    rouge(sip.attack(mapped, plain), heldOut)));
        }
        System.out.println(line);
        for (AlignedSipAttack.Settings a : aligned) {
            System.out.printf(Locale.ROOT, "aligned SIP, secret %s, %s: %s%n", secret, a,
                    rouge(new AlignedSipAttack(sip, a).attack(step, plain), privateRows));
        }
    }

    /** The observation's rows from {@code from} on. */
    private static Observation rows(Observation o, int from) {
        long[] shape = o.hIn().shape();
        int stride = (int) (shape[1] * shape[2]);
        float[] data = java.util.Arrays.copyOfRange(o.hIn().data(), from * stride, (int) shape[0] * stride);
        long[] lengths = o.lengths();
        return Observation.forwardOnly(o.session(), o.step(), new HostTensor(new long[] {shape[0] - from, shape[1],
                shape[2]}, data), java.util.Arrays.copyOfRange(lengths, from, lengths.length));
    }

    private static ThreatModel threatModel(OptConfig config, Split split, Map<String, HostTensor> weights,
                                           List<int[]> auxiliary, WireDefence wire,
                                           Function<PrivacyWarmup.Recipe, List<int[]>> text) {
        return ThreatModel.of(config, split, weights, auxiliary, ThreatModel.LossNormalisation.MEAN_OVER_TARGETS,
                wire, text);
    }

    /** The client's h_in of the private rows (Gradfree) as the backbone decodes it from the wire's codec. */
    private static Observation observe(OptConfig config, Map<String, HostTensor> weights, Split split,
                                       List<int[]> rows, WireDefence wire) {
        try (OptModel client = OptModel.fromTensors(config, HostTensor.select(weights, split.client()));
             NDManager scope = DjlRuntime.newManager();
             TokenBatch batch = TokenBatch.of(scope, rows, null, config.padTokenId())) {
            HostTensor hIn = DjlRuntime.withoutGradients(() -> OptModel.hostCopy(
                    client.blocks(client.embed(batch), batch, 0, split.k())));
            // The wire's 0 (no quantiser) is the codec's 32 (fp32).
            int bits = wire.activationBits() == 0 ? 32 : wire.activationBits();
            TensorCodec codec = Precision.activations(bits).newCodec();
            HostTensor received = codec.decode(hIn.shape(), codec.encode(hIn));
            return Observation.forwardOnly("warmup-shadow", 0, received, batch.lengths());
        }
    }

    private static String rouge(Reconstruction r, List<int[]> truth) {
        if (!r.succeeded()) {
            return "failed: " + r.detail();
        }
        return String.format(Locale.ROOT, "%.3f", TextLeakage.score(r.tokens(), truth).rougeL());
    }
}
