package io.guardedtuning.privacy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import io.guardedtuning.attack.AlignedReader;
import io.guardedtuning.data.McExample;
import io.guardedtuning.engine.DjlRuntime;
import io.guardedtuning.eval.McEncoder;
import io.guardedtuning.model.OptModel;
import io.guardedtuning.model.Split;
import io.guardedtuning.model.TokenBatch;
import io.guardedtuning.tensor.HostTensor;
import io.guardedtuning.train.AdamW;
import io.guardedtuning.train.LmLoss;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * The privacy warm-up: before its first exchange the client tunes its adapters locally on public text so that
 * h_in says less about the tokens (α·dCor²(E(x), h_in), NoPeek's penalty) while the model stays usable: the
 * causal-LM loss on the same text ({@code dcor-lm}), or the KL divergence from the pretrained model's next-token
 * distributions ({@code dcor-kd}, which asks the warmed model to compute what the pretrained one did, not only to
 * predict the text), through a local stand-in of the backbone (the Offline design's emulator, or for the bundled
 * tiny model the pretrained middle itself). The input adapter is first perturbed from a secret seed,
 * which also orders the text, so that the adapter it ends with is the client's own: the provider knows the recipe
 * (announced as {@link Recipe#spec()}) and can run it with its own seed, but not this one. With {@code candidates}
 * K &gt; 1 the client warms K secret starts and keeps the one its own training rows find most usable (the lowest
 * answer loss through the stand-in): a start is a random draw, and some draws cost the task more than others. The
 * provider knows K and the rule, not the rows or the draws. dCor does not see an affine re-encoding, and a warmed
 * adapter is largely one of the pretrained adapter (docs/benchmarks.md), which the provider can undo by matching
 * moments ({@link io.guardedtuning.attack.AlignedSipAttack}); with {@code unalign} &gt; 0 the warm-up also lowers
 * what that aligned reading gets right, through an {@link AlignedReader} trained on the warm-up's text; with
 * {@code unpair} &gt; 0 what SIP reads through the best affine map to the pretrained h_in, fitted with the true
 * pairing on half of each batch (the client has both), so that no affine alignment, however found, reads much.
 */
public final class PrivacyWarmup {

    /**
     * @param steps        optimiser steps on public text
     * @param learningRate Adam's rate for the adapters during the warm-up
     * @param alpha        weight of dCor²(E(x), h_in) against the LM loss
     * @param perturbation std of the secret start, relative to each input-adapter weight matrix's own std
     * @param batch        public sequences per step
     * @param publicRows   the held-out rows the text is cut from ({@link io.guardedtuning.attack.PublicText#warmupHalves}: the warm-up
     *                     trains on the first half), so the provider can replay it on the same text; 0 when not
     *                     announced
     * @param distil       keep the model usable by matching the pretrained model's next-token distributions (KL)
     *                     instead of by the LM loss
     * @param candidates   secret starts warmed; the client keeps the one its own rows find most usable
     * @param unalign      weight of the probability that the aligned SIP reading ({@link AlignedReader}: SIP for
     *                     the pretrained adapter, after the affine map matching h_in's moments to the pretrained
     *                     h_in's) gives the true tokens; 0 leaves it out
     * @param unpair       weight of the same probability through the least-squares affine map to the pretrained
     *                     h_in of the same tokens (the affine bound, {@link AlignedReader#pairedTrueTokenProbability});
     *                     0 leaves it out
     */
    public record Recipe(int steps, float learningRate, float alpha, float perturbation, int batch, int publicRows,
                         boolean distil, int candidates, float unalign, float unpair) {

        public static final Recipe NONE = new Recipe(0, 1e-3f, 0f, 0f, 1, 0);

        public Recipe {
            if (steps < 0 || batch < 1 || !(learningRate > 0) || !(alpha >= 0) || !(perturbation >= 0)
                    || publicRows < 0 || candidates < 1 || !(unalign >= 0) || !(unpair >= 0)) {
                throw new IllegalArgumentException("warm-up recipe: steps >= 0, batch >= 1, lr > 0, alpha >= 0, "
                        + "perturbation >= 0, rows >= 0, candidates >= 1, unalign >= 0, unpair >= 0; got " + steps
                        + ", " + batch + ", " + learningRate + ", " + alpha + ", " + perturbation + ", " + publicRows
                        + ", " + candidates + ", " + unalign + ", " + unpair);
            }
        }

        public Recipe(int steps, float learningRate, float alpha, float perturbation, int batch, int publicRows,
                      boolean distil, int candidates) {
            this(steps, learningRate, alpha, perturbation, batch, publicRows, distil, candidates, 0f, 0f);
        }

        public Recipe(int steps, float learningRate, float alpha, float perturbation, int batch, int publicRows,
                      boolean distil) {
            this(steps, learningRate, alpha, perturbation, batch, publicRows, distil, 1);
        }

        public Recipe(int steps, float learningRate, float alpha, float perturbation, int batch, int publicRows) {
            this(steps, learningRate, alpha, perturbation, batch, publicRows, false);
        }

        public Recipe(int steps, float learningRate, float alpha, float perturbation, int batch) {
            this(steps, learningRate, alpha, perturbation, batch, 0);
        }

        public boolean isNone() {
            return steps == 0;
        }

        /** The same recipe, announcing the number of held-out rows its text is cut from. */
        public Recipe withPublicRows(int rows) {
            return new Recipe(steps, learningRate, alpha, perturbation, batch, rows, distil, candidates, unalign,
                    unpair);
        }

        /** The same recipe, keeping the model usable by distillation from the pretrained model. */
        public Recipe distilled() {
            return new Recipe(steps, learningRate, alpha, perturbation, batch, publicRows, true, candidates,
                    unalign, unpair);
        }

        /** The same recipe, warming {@code k} secret starts and keeping the most usable on the client's rows. */
        public Recipe bestOf(int k) {
            return new Recipe(steps, learningRate, alpha, perturbation, batch, publicRows, distil, k, unalign,
                    unpair);
        }

        /** The same recipe, also training against the aligned SIP reading with weight {@code weight}. */
        public Recipe againstAlignment(float weight) {
            return new Recipe(steps, learningRate, alpha, perturbation, batch, publicRows, distil, candidates, weight,
                    unpair);
        }

        /** The same recipe, also training against the affine bound's reading with weight {@code weight}. */
        public Recipe againstPairedAlignment(float weight) {
            return new Recipe(steps, learningRate, alpha, perturbation, batch, publicRows, distil, candidates, unalign,
                    weight);
        }

        /** Whether the warm-up trains against an aligned reading (and so needs an {@link AlignedReader}). */
        boolean readsAligned() {
            return !isNone() && (unalign > 0 || unpair > 0);
        }

        /**
         * The announced form, e.g. {@code dcor-lm:steps=200,lr=0.001,alpha=8.0,perturb=0.1,batch=8,rows=600}
         * ({@code dcor-kd:...} when distilling), or "none".
         */
        public String spec() {
            return isNone() ? "none" : String.format(Locale.ROOT, "%s:steps=%d,lr=%s,alpha=%s,perturb=%s,batch=%d",
                    distil ? KD : LM, steps, learningRate, alpha, perturbation, batch)
                    + (publicRows > 0 ? ",rows=" + publicRows : "")
                    + (candidates > 1 ? ",candidates=" + candidates : "")
                    + (unalign > 0 ? ",unalign=" + unalign : "")
                    + (unpair > 0 ? ",unpair=" + unpair : "");
        }

        private static final String LM = "dcor-lm";
        private static final String KD = "dcor-kd";

        /** Parses {@link #spec()}; keys left out keep the defaults of {@link #dcorLm}. */
        public static Recipe parse(String spec) {
            String s = spec == null ? "" : spec.strip();
            if (s.isEmpty() || s.equals("none")) {
                return NONE;
            }
            boolean distil = s.startsWith(KD);
            if (!s.startsWith(LM) && !distil) {
                throw new IllegalArgumentException("unknown warm-up recipe '" + spec + "' (known: none, "
                        + "dcor-lm or dcor-kd:steps=N,lr=X,alpha=X,perturb=X,batch=N,rows=N,candidates=N,unalign=X,"
                        + "unpair=X)");
            }
            Recipe d = dcorLm(200, 8f);
            int steps = d.steps;
            int batch = d.batch;
            int rows = 0;
            int candidates = 1;
            float unalign = 0;
            float unpair = 0;
            float lr = d.learningRate;
            float alpha = d.alpha;
            float perturb = d.perturbation;
            String rest = s.substring(LM.length());
            if (rest.startsWith(":")) {
                for (String kv : rest.substring(1).split(",")) {
                    String[] p = kv.split("=", 2);
                    if (p.length != 2) {
                        throw new IllegalArgumentException("warm-up recipe: '" + kv + "' is not key=value");
                    }
                    try {
                        switch (p[0].strip()) {
                            case "steps" -> steps = Integer.parseInt(p[1].strip());
                            case "lr" -> lr = Float.parseFloat(p[1].strip());
                            case "alpha" -> alpha = Float.parseFloat(p[1].strip());
                            case "perturb" -> perturb = Float.parseFloat(p[1].strip());
                            case "batch" -> batch = Integer.parseInt(p[1].strip());
                            case "rows" -> rows = Integer.parseInt(p[1].strip());
                            case "candidates" -> candidates = Integer.parseInt(p[1].strip());
                            case "unalign" -> unalign = Float.parseFloat(p[1].strip());
                            case "unpair" -> unpair = Float.parseFloat(p[1].strip());
                            default -> throw new IllegalArgumentException("warm-up recipe: unknown key '" + p[0]
                                    + "' (steps, lr, alpha, perturb, batch, rows, candidates, unalign, unpair)");
                        }
                    } catch (NumberFormatException e) {
                        throw new IllegalArgumentException("warm-up recipe: '" + kv + "' is not a number");
                    }
                }
            } else if (!rest.isEmpty()) {
                throw new IllegalArgumentException("unknown warm-up recipe '" + spec + "'");
            }
            return new Recipe(steps, lr, alpha, perturb, batch, rows, distil, candidates, unalign, unpair);
        }

        public static Recipe dcorLm(int steps, float alpha) {
            return new Recipe(steps, 1e-3f, alpha, 0.1f, 8);
        }
    }

    /**
     * What the warm-up did: both losses on the first batch before and on the last batch after, and its cost; with
     * several candidates, each one's loss on the client's rows and the one kept (the losses are the kept one's).
     */
    public record Report(String recipe, double lmLossBefore, double lmLossAfter, double dcorBefore, double dcorAfter,
                         long millis, double[] candidateLosses, int kept) {

        Report(String recipe, double lmLossBefore, double lmLossAfter, double dcorBefore, double dcorAfter,
               long millis) {
            this(recipe, lmLossBefore, lmLossAfter, dcorBefore, dcorAfter, millis, new double[0], 0);
        }
    }

    private PrivacyWarmup() {
    }

    /**
     * As {@link #run}, for each of the recipe's candidates (the first from {@code secretSeed} itself, so one
     * candidate is {@link #run}); each warmed client is scored by its {@link #answerLoss} on the client's own rows,
     * and the lowest is kept in {@code client}.
     */
    public static Report runBestOf(Recipe recipe, OptModel client, OptModel standIn, Split split,
                                   List<int[]> publicText, long secretSeed, OwnRows own) {
        if (recipe.candidates() == 1 || recipe.isNone()) {
            return run(recipe, client, standIn, split, publicText, secretSeed);
        }
        if (own.rows().isEmpty()) {
            throw new IllegalArgumentException("a warm-up with " + recipe.candidates() + " candidates needs the "
                    + "client's own rows to choose with");
        }
        long started = System.nanoTime();
        Map<String, HostTensor> start = client.toTensors(split.client());
        double[] losses = new double[recipe.candidates()];
        Map<String, HostTensor> best = null;
        Report kept = null;
        int keptIndex = 0;
        try (AlignedReader reader = reader(recipe, client, split, publicText)) {
            for (int i = 0; i < losses.length; i++) {
                client.load(start);
                Report r = run(recipe, client, standIn, split, publicText, candidateSeed(secretSeed, i), reader);
                losses[i] = answerLoss(client, standIn, split, own.rows(), own.scoredFrom());
                if (best == null || losses[i] < losses[keptIndex]) {
                    best = client.toTensors(split.client());
                    kept = r;
                    keptIndex = i;
                }
            }
        }
        client.load(best);
        return new Report(recipe.spec(), kept.lmLossBefore(), kept.lmLossAfter(), kept.dcorBefore(),
                kept.dcorAfter(), (System.nanoTime() - started) / 1_000_000, losses, keptIndex);
    }

    /** The client's own rows a warm-up chooses among its candidates with, each scored from its answer's first token. */
    public record OwnRows(List<int[]> rows, int[] scoredFrom) {

        public static final OwnRows NONE = new OwnRows(List.of(), new int[0]);

        /** Rows a choice is made on: enough to rank starts whose losses differ, cheap next to a warm-up. */
        public static final int MAX = 64;

        public OwnRows {
            rows = List.copyOf(rows);
            if (scoredFrom.length != rows.size()) {
                throw new IllegalArgumentException(rows.size() + " rows but " + scoredFrom.length + " answer starts");
            }
        }

        /** The answers of the first {@link #MAX} examples, as the trainer encodes them. */
        public static OwnRows of(McEncoder encoder, List<McExample> examples) {
            List<McEncoder.Encoded> encoded = examples.stream().limit(MAX).map(encoder::encodeAnswer).toList();
            return new OwnRows(encoded.stream().map(McEncoder.Encoded::tokens).toList(),
                    encoded.stream().mapToInt(McEncoder.Encoded::scoredFrom).toArray());
        }
    }

    /** Candidate {@code i}'s secret: the client's own seed for the first, independent streams for the rest. */
    static long candidateSeed(long secretSeed, int i) {
        return i == 0 ? secretSeed : new java.util.SplittableRandom(secretSeed).split().nextLong() + i;
    }

    /**
     * Mean next-token loss over each row's answer tokens (from {@code scoredFrom}) through the stand-in, without
     * training: how usable a warmed client is for the client's task, measured on its own rows.
     */
    public static double answerLoss(OptModel client, OptModel standIn, Split split, List<int[]> rows,
                                    int[] scoredFrom) {
        return DjlRuntime.withoutGradients(() -> {
            try (NDManager scope = DjlRuntime.newManager();
                 TokenBatch batch = TokenBatch.of(scope, rows, scoredFrom, client.config().padTokenId())) {
                NDArray h = client.blocks(client.embed(batch), batch, 0, split.k());
                h = standIn.blocks(h, batch, split.trunkFrom(), split.trunkTo());
                return (double) LmLoss.mean(client.head(client.blocks(h, batch, split.trunkTo(), split.layers())),
                        batch).getFloat();
            }
        });
    }

    /**
     * Tunes both adapters of {@code client} in place (the output adapter follows the changed h_in; the embeddings
     * stay frozen). {@code standIn} holds the middle layers the LM loss runs through.
     */
    public static Report run(Recipe recipe, OptModel client, OptModel standIn, Split split, List<int[]> publicText,
                             long secretSeed) {
        if (recipe.isNone()) {
            return new Report(recipe.spec(), Double.NaN, Double.NaN, Double.NaN, Double.NaN, 0);
        }
        try (AlignedReader reader = reader(recipe, client, split, publicText)) {
            return run(recipe, client, standIn, split, publicText, secretSeed, reader);
        }
    }

    /**
     * SIP's inverter for the client side as it is now (the pretrained one, before any perturbation), trained on the
     * warm-up's text, which the warm-up then trains against; null when the recipe does not.
     */
    private static AlignedReader reader(Recipe recipe, OptModel client, Split split, List<int[]> publicText) {
        return recipe.readsAligned() ? AlignedReader.train(client.config(), split,
                client.toTensors(split.client()), publicText, UNALIGN_INVERTER_STEPS) : null;
    }

    /** SIP steps of the inverter a warm-up trains against: near convergence on this model (docs/attacks.md). */
    static final int UNALIGN_INVERTER_STEPS = 400;

    private static Report run(Recipe recipe, OptModel client, OptModel standIn, Split split, List<int[]> publicText,
                              long secretSeed, AlignedReader reader) {
        if (publicText.size() < 2) {
            throw new IllegalArgumentException("the privacy warm-up needs public text (at least 2 sequences)");
        }
        long started = System.nanoTime();
        Random random = new Random(secretSeed);
        try (OptModel teacher = recipe.distil() ? OptModel.fromTensors(client.config(),
                client.toTensors(split.client())) : null) {
            perturb(client, split, recipe.perturbation(), random);
            return tune(recipe, client, teacher, standIn, split, publicText, random, started, reader);
        }
    }

    private static Report tune(Recipe recipe, OptModel client, OptModel teacher, OptModel standIn, Split split,
                               List<int[]> publicText, Random random, long started, AlignedReader reader) {
        Map<String, NDArray> trainable = new LinkedHashMap<>();
        client.parameters().forEach((n, p) -> {
            if (split.adapters().test(n)) {
                trainable.put(n, p);
            }
        });
        List<String> wasTrainable = client.trainableNames();
        client.setTrainable(trainable.keySet());
        List<int[]> order = new ArrayList<>(publicText);
        double[] first = null;
        double[] last = null;
        try (AdamW optimizer = new AdamW(new AdamW.Settings(0.9f, 0.999f, 1e-8f, 0f, 1f))) {
            int position = order.size();
            for (int step = 0; step < recipe.steps(); step++) {
                if (position + recipe.batch() > order.size()) {
                    Collections.shuffle(order, random);
                    position = 0;
                }
                List<int[]> batch = order.subList(position, Math.min(order.size(), position + recipe.batch()));
                position += recipe.batch();
                last = forward(client, teacher, standIn, split, batch, recipe, reader, true);
                if (first == null) {
                    first = last;
                }
                optimizer.update(trainable, recipe.learningRate());
            }
        } finally {
            client.setTrainable(wasTrainable);
        }
        return new Report(recipe.spec(), first[0], last[0], first[1], last[1],
                (System.nanoTime() - started) / 1_000_000);
    }

    /** The LM loss and dCor² of one batch, without training: to check what a warm-up costs the model. */
    public static double[] losses(OptModel client, OptModel standIn, Split split, List<int[]> sequences) {
        return DjlRuntime.withoutGradients(() -> forward(client, null, standIn, split, sequences, Recipe.NONE, null,
                false));
    }

    /**
     * {lm, dCor²}; with {@code backward}, the gradient of {@code usable + α·dCor² + unalign·p + unpair·q} is left
     * on the adapters, where {@code usable} is the LM loss, or with a {@code teacher} (the pretrained client side)
     * the KL divergence from its next-token distributions over the batch's real tokens, and {@code p} and {@code q}
     * are the probabilities the {@code reader} gives the true tokens through the moment-matching and the paired
     * affine map (left out without a reader).
     */
    private static double[] forward(OptModel client, OptModel teacher, OptModel standIn, Split split,
                                    List<int[]> sequences, Recipe recipe, AlignedReader reader, boolean backward) {
        try (NDManager scope = DjlRuntime.newManager();
             TokenBatch batch = TokenBatch.of(scope, sequences, null, client.config().padTokenId());
             GradientCollector gc = DjlRuntime.gradientCollector()) {
            NDArray embeddings = client.tokenEmbeddings(batch);
            NDArray hIn = client.blocks(client.embedFrom(embeddings, batch), batch, 0, split.k());
            NDArray hOut = standIn.blocks(hIn, batch, split.trunkFrom(), split.trunkTo());
            NDArray logits = client.head(client.blocks(hOut, batch, split.trunkTo(), split.layers()));
            NDArray lm = LmLoss.mean(logits, batch);
            NDArray usable = teacher == null ? lm : klFromTeacher(teacher, standIn, split, batch, logits);
            NDArray dcor = DistanceCorrelation.perToken().squared(embeddings.stopGradient(), hIn,
                    batch.attentionMask());
            double[] out = {lm.getFloat(), dcor.getFloat()};
            if (backward) {
                // α as an array of this scope: DJL frees Number scalars before backward.
                NDArray loss = recipe.alpha() > 0 ? usable.add(dcor.mul(scope.create(recipe.alpha()))) : usable;
                if (reader != null && recipe.unalign() > 0) {
                    loss = loss.add(reader.trueTokenProbability(hIn, batch).mul(scope.create(recipe.unalign())));
                }
                if (reader != null && recipe.unpair() > 0) {
                    loss = loss.add(reader.pairedTrueTokenProbability(hIn, batch).mul(scope.create(recipe.unpair())));
                }
                gc.backward(loss);
            }
            return out;
        }
    }

    /** Mean over real tokens of KL(teacher ‖ student) of next-token distributions; the teacher outside the graph. */
    private static NDArray klFromTeacher(OptModel teacher, OptModel standIn, Split split, TokenBatch batch,
                                         NDArray studentLogits) {
        NDArray teacherLogProbs = DjlRuntime.withoutGradients(() -> {
            NDArray h = teacher.blocks(teacher.embed(batch), batch, 0, split.k());
            h = standIn.blocks(h, batch, split.trunkFrom(), split.trunkTo());
            return teacher.head(teacher.blocks(h, batch, split.trunkTo(), split.layers())).logSoftmax(-1);
        });
        NDArray perToken = teacherLogProbs.exp().mul(teacherLogProbs.sub(studentLogits.logSoftmax(-1))).sum(
                new int[] {-1});
        NDArray mask = batch.attentionMask().toType(perToken.getDataType(), false);
        return perToken.mul(mask).sum().div(mask.sum().maximum(1f));
    }

    /** The secret start: each input-adapter weight matrix plus Gaussian noise of {@code relative} × its std. */
    private static void perturb(OptModel client, Split split, float relative, Random random) {
        if (relative == 0) {
            return;
        }
        Map<String, HostTensor> moved = new LinkedHashMap<>();
        client.toTensors(n -> split.inputAdapter().test(n) && n.endsWith(".weight")).forEach((name, t) -> {
            if (t.shape().length != 2) {
                return;
            }
            float[] w = t.data().clone();
            double mean = 0;
            double sq = 0;
            for (float v : w) {
                mean += v;
                sq += (double) v * v;
            }
            mean /= w.length;
            double std = Math.sqrt(Math.max(0, sq / w.length - mean * mean));
            for (int i = 0; i < w.length; i++) {
                w[i] += (float) (random.nextGaussian() * relative * std);
            }
            moved.put(name, new HostTensor(t.shape().clone(), w));
        });
        client.load(moved);
    }
}
