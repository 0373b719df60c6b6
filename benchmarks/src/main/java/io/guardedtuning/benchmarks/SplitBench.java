package io.guardedtuning.benchmarks;

import io.guardedtuning.checkpoint.HfCheckpoint;
import io.guardedtuning.checkpoint.ModelCatalog;
import io.guardedtuning.data.McExample;
import io.guardedtuning.data.PackageCache;
import io.guardedtuning.data.SplitSizes;
import io.guardedtuning.data.TaskRegistry;
import io.guardedtuning.engine.DjlRuntime;
import io.guardedtuning.eval.McEncoder;
import io.guardedtuning.eval.MultipleChoiceEvaluator;
import io.guardedtuning.model.OptConfig;
import io.guardedtuning.model.OptModel;
import io.guardedtuning.model.Split;
import io.guardedtuning.privacy.DistanceCorrelation;
import io.guardedtuning.privacy.DistanceCorrelationPenalty;
import io.guardedtuning.split.ActivationRegularizer;
import io.guardedtuning.split.BackboneServer;
import io.guardedtuning.split.ClientSplitTrainer;
import io.guardedtuning.split.Design;
import io.guardedtuning.tensor.HostTensor;
import io.guardedtuning.tokenizer.BpeTokenizer;
import io.guardedtuning.train.AdamW;
import io.guardedtuning.train.LearningRateSchedule;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * What the split-learning benchmarks share: {@code key=value} options, the pretrained model and a task loaded once,
 * and the two parties of a split run wired around that model ({@link Parties}).
 */
final class SplitBench {

    /** Command-line options as {@code key=value}, with defaults for the absent ones. */
    record Options(Map<String, String> values) {

        static Options parse(String[] args) {
            return new Options(Arrays.stream(args).map(s -> s.split("=", 2)).peek(p -> {
                if (p.length != 2) {
                    throw new IllegalArgumentException("options are key=value, got '" + p[0] + "'");
                }
            }).collect(Collectors.toMap(p -> p[0], p -> p[1])));
        }

        String text(String key, String fallback) {
            return values.getOrDefault(key, fallback);
        }

        int integer(String key, int fallback) {
            return values.containsKey(key) ? Integer.parseInt(values.get(key)) : fallback;
        }

        float decimal(String key, float fallback) {
            return values.containsKey(key) ? Float.parseFloat(values.get(key)) : fallback;
        }

        List<Integer> integers(String key, String fallback) {
            return Arrays.stream(text(key, fallback).split(",")).map(String::trim).map(Integer::parseInt).toList();
        }

        List<Float> decimals(String key, String fallback) {
            return Arrays.stream(text(key, fallback).split(",")).map(String::trim).map(Float::parseFloat).toList();
        }
    }

    final OptConfig config;
    final Map<String, HostTensor> pretrained;
    final BpeTokenizer tokenizer;
    final Split split;
    final McEncoder encoder;
    final MultipleChoiceEvaluator evaluator;
    final List<McExample> train;
    final List<McExample> test;

    private SplitBench(OptConfig config, Map<String, HostTensor> pretrained, BpeTokenizer tokenizer, Split split,
                       McEncoder encoder, List<McExample> train, List<McExample> test) {
        this.config = config;
        this.pretrained = pretrained;
        this.tokenizer = tokenizer;
        this.split = split;
        this.encoder = encoder;
        this.evaluator = new MultipleChoiceEvaluator(encoder, config.padTokenId(), 16);
        this.train = train;
        this.test = test;
    }

    /**
     * Options read: model, task, train, test, k, tokens (the encoder's cap on a sequence, default as given), and
     * shape: random weights of a named OPT shape ({@link OptConfig#named}) instead of the model's, for the cost of a
     * step at a scale no pretrained checkpoint here has; the model's tokenizer still encodes the task (its ids are
     * within every OPT vocabulary).
     */
    static SplitBench load(Options o, int defaultTokens) throws IOException {
        DjlRuntime.configure();
        Path dir = ModelCatalog.resolve(o.text("model", "gt-tiny-opt"));
        OptConfig config;
        Map<String, HostTensor> weights;
        if (o.values().containsKey("shape")) {
            config = OptConfig.named(o.text("shape", ""));
            weights = OptModel.randomTensors(config, 1, name -> true);
        } else {
            HfCheckpoint.Loaded checkpoint = HfCheckpoint.loadWhole(dir);
            config = checkpoint.config();
            weights = checkpoint.tensors();
        }
        BpeTokenizer tokenizer = BpeTokenizer.fromDirectory(dir);
        var task = new TaskRegistry(new PackageCache(),
                new SplitSizes(o.integer("train", 800), 100, o.integer("test", 300)), 600)
                .resolve(o.text("task", "spam-assassin"));
        McEncoder encoder = new McEncoder(tokenizer, config.bosTokenId(),
                Math.min(o.integer("tokens", defaultTokens), config.maxPositionEmbeddings()));
        return new SplitBench(config, weights, tokenizer, Split.of(o.integer("k", 2), config), encoder, task.train(),
                task.test());
    }

    double accuracy(io.guardedtuning.eval.LanguageModel model) {
        return evaluator.evaluate(model, test).accuracy();
    }

    /** Fresh client and server halves from the pretrained weights, the client trained with Adam at a constant rate. */
    Parties parties(Design design, float alpha, float learningRate) {
        return new Parties(this, design, alpha, learningRate);
    }

    /**
     * The client (embeddings and both adapters, with its trainer and, for α &gt; 0, the distance-correlation
     * penalty on h_in) and the provider's frozen backbone, as separate models.
     */
    static final class Parties implements AutoCloseable {
        final OptModel client;
        final OptModel trunk;
        final BackboneServer server;
        final ClientSplitTrainer trainer;
        private final DistanceCorrelationPenalty penalty;

        private Parties(SplitBench bench, Design design, float alpha, float learningRate) {
            client = OptModel.fromTensors(bench.config, HostTensor.select(bench.pretrained, bench.split.client()));
            trunk = OptModel.fromTensors(bench.config, HostTensor.select(bench.pretrained, bench.split.backbone()));
            server = new BackboneServer(trunk, bench.split, 8);
            penalty = alpha > 0 ? new DistanceCorrelationPenalty(alpha, DistanceCorrelation.perToken()) : null;
            trainer = new ClientSplitTrainer(client, bench.split, design,
                    new AdamW.Settings(0.9f, 0.999f, 1e-8f, 0f, 1f), LearningRateSchedule.constant(learningRate),
                    penalty != null ? penalty : ActivationRegularizer.NONE, true);
        }

        @Override
        public void close() {
            trainer.close();
            if (penalty != null) {
                penalty.close();
            }
            server.close();
            trunk.close();
            client.close();
        }
    }
}
