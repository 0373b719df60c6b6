package io.guardedtuning.cli;

import io.guardedtuning.checkpoint.ModelFiles;
import io.guardedtuning.data.McTask;
import io.guardedtuning.eval.MultipleChoiceEvaluator;
import io.guardedtuning.model.OptModel;
import io.guardedtuning.tokenizer.BpeTokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

/** Scores a model on a multiple-choice task's test split, lm-eval-harness style. */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = "Evaluate a model on a multiple-choice task: each choice is scored by its log-likelihood after "
                + "the context; prints accuracy and length-normalised accuracy.")
public final class EvalCommand implements Callable<Integer> {

    @Mixin
    ModelTaskOptions options;

    @Override
    public Integer call() throws Exception {
        Path dir = options.modelDirectory();
        BpeTokenizer tokenizer = BpeTokenizer.fromDirectory(dir); // the model's files first: cheap to check
        McTask task = options.loadTask();
        try (OptModel model = ModelFiles.load(dir)) {
            long started = System.nanoTime();
            MultipleChoiceEvaluator.Result r = options.evaluator(tokenizer, model.config())
                    .evaluate(model::logits, ModelTaskOptions.limit(task.test(), options.evalSize));
            System.out.printf(Locale.ROOT, "%s on %s (%s): acc %.4f, acc_norm %.4f over %d examples in %.1f s%n",
                    options.model, task.name(), task.provenance(), r.accuracy(), r.normalizedAccuracy(),
                    r.examples(), (System.nanoTime() - started) / 1e9);
        }
        return 0;
    }
}
