package io.guardedtuning.cli;

import io.guardedtuning.checkpoint.ModelFiles;
import io.guardedtuning.checkpoint.Safetensors;
import io.guardedtuning.data.McExample;
import io.guardedtuning.data.McTask;
import io.guardedtuning.eval.MultipleChoiceEvaluator;
import io.guardedtuning.model.OptModel;
import io.guardedtuning.model.Split;
import io.guardedtuning.tokenizer.BpeTokenizer;
import io.guardedtuning.train.StepResult;
import io.guardedtuning.train.TaskFinetuner;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Predicate;

/** Centralized fine-tuning: the non-private reference every GuardedTuning design is measured against. */
@Command(name = "finetune", mixinStandardHelpOptions = true,
        description = "Fine-tune a model (all of it, or the adapters of a k-split) on a task's training split in one "
                + "process, and report test accuracy before and after.")
public final class FinetuneCommand implements Callable<Integer> {

    @Mixin
    ModelTaskOptions options;

    @Option(names = "--trainable", defaultValue = "adapters",
            description = "all | adapters (first and last k layers + final norm) | output-adapter "
                    + "(default: ${DEFAULT-VALUE}).")
    String trainable;

    @Option(names = "--k", defaultValue = "2", description = "Adapter size in layers (default: ${DEFAULT-VALUE}).")
    int k;

    @Option(names = "--epochs", defaultValue = "1", description = "Passes over the training split.")
    int epochs;

    @Option(names = "--batch-size", defaultValue = "8", description = "Training sequences per step.")
    int batchSize;

    @Option(names = "--lr", defaultValue = "1e-3", description = "Learning rate (default: ${DEFAULT-VALUE}).")
    float learningRate;

    @Option(names = "--seed", defaultValue = "1", description = "Data-order seed.")
    long seed;

    @Option(names = "--out", description = "Write the fine-tuned model here (optional).")
    Path out;

    @Override
    public Integer call() throws Exception {
        Path dir = options.modelDirectory();
        BpeTokenizer tokenizer = BpeTokenizer.fromDirectory(dir); // the model's files first: cheap to check
        McTask task = options.loadTask();
        List<McExample> train = ModelTaskOptions.limit(task.train(), options.trainSize);
        List<McExample> test = ModelTaskOptions.limit(task.test(), options.evalSize);
        try (OptModel model = ModelFiles.load(dir)) {
            Predicate<String> which = selection(Split.of(k, model.config()));
            MultipleChoiceEvaluator evaluator = options.evaluator(tokenizer, model.config());
            MultipleChoiceEvaluator.Result before = evaluator.evaluate(model::logits, test);
            System.err.printf(Locale.ROOT, "before: acc %.4f, acc_norm %.4f on %d test examples%n",
                    before.accuracy(), before.normalizedAccuracy(), before.examples());
            TaskFinetuner.Settings s = new TaskFinetuner.Settings(epochs, batchSize, learningRate, 0.0f, seed);
            List<StepResult> history;
            try (ProgressBar bar = new ProgressBar("finetune", TaskFinetuner.steps(train.size(), s))) {
                history = TaskFinetuner.run(model, options.encoder(tokenizer, model.config()), train, which, s,
                        r -> bar.step(String.format(Locale.ROOT, "loss %.3f", r.loss())));
            }
            MultipleChoiceEvaluator.Result after = evaluator.evaluate(model::logits, test);
            System.out.printf(Locale.ROOT, "%s, %s, trainable=%s k=%d: acc %.4f -> %.4f, acc_norm %.4f -> %.4f "
                            + "(%d test examples, %d steps, final loss %.3f)%n", options.model, task.name(), trainable,
                    k, before.accuracy(), after.accuracy(), before.normalizedAccuracy(), after.normalizedAccuracy(),
                    after.examples(), history.size(), history.get(history.size() - 1).loss());
            if (out != null) {
                ModelFiles.save(out, model, Safetensors.Dtype.F32,
                        Map.of("tokenizer.json", tokenizer.toTokenizerJson()));
            }
        }
        return 0;
    }

    private Predicate<String> selection(Split split) {
        return switch (trainable) {
            case "all" -> n -> true;
            case "adapters" -> split.adapters();
            case "output-adapter" -> split.outputAdapter();
            default -> throw new IllegalArgumentException("--trainable must be all, adapters or output-adapter, got '"
                    + trainable + "'");
        };
    }
}
