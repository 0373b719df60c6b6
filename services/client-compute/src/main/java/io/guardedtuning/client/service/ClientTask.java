package io.guardedtuning.client.service;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.guardedtuning.checkpoint.HfCheckpoint;
import io.guardedtuning.checkpoint.ModelCatalog;
import io.guardedtuning.client.config.ClientSettings;
import io.guardedtuning.data.McExample;
import io.guardedtuning.data.McTask;
import io.guardedtuning.data.PackageCache;
import io.guardedtuning.data.SplitSizes;
import io.guardedtuning.data.TaskRegistry;
import io.guardedtuning.eval.McEncoder;
import io.guardedtuning.eval.MultipleChoiceEvaluator;
import io.guardedtuning.model.OptConfig;
import io.guardedtuning.tokenizer.BpeTokenizer;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * The client's private task and what it needs to encode and score it: the model directory's config and tokenizer,
 * the training and test examples. Every design loads it the same way.
 */
record ClientTask(Path modelDir, OptConfig config, BpeTokenizer tokenizer, McTask task, List<McExample> train,
                  List<McExample> test, McEncoder encoder, MultipleChoiceEvaluator evaluator) {

    static ClientTask load(ClientSettings settings) throws IOException {
        Path dir = ModelCatalog.resolve(settings.model());
        OptConfig config = HfCheckpoint.readConfig(dir);
        BpeTokenizer tokenizer = BpeTokenizer.fromDirectory(dir);
        McTask task = new TaskRegistry(new PackageCache(), new SplitSizes(settings.trainSize(),
                Math.min(200, settings.evalSize()), settings.evalSize()), 600).resolve(settings.taskName());
        List<McExample> train = first(task.train(), settings.trainSize());
        List<McExample> test = first(task.test(), settings.evalSize());
        if (train.isEmpty() || test.isEmpty()) {
            throw new IllegalArgumentException("task " + settings.taskName() + " has " + train.size()
                    + " train and " + test.size() + " test examples; both are needed (file tasks: KIND:TEST,TRAIN)");
        }
        McEncoder encoder = new McEncoder(tokenizer, config.bosTokenId(),
                Math.min(settings.maxTokens(), config.maxPositionEmbeddings()));
        MultipleChoiceEvaluator evaluator = new MultipleChoiceEvaluator(encoder, config.padTokenId(),
                settings.evalBatchSize());
        return new ClientTask(dir, config, tokenizer, task, train, test, encoder, evaluator);
    }

    /** The task as the summary records it. */
    void describe(ObjectNode summary) {
        summary.putObject("task").put("name", task.name()).put("provenance", task.provenance())
                .put("trainExamples", train.size()).put("evalExamples", test.size());
    }

    private static List<McExample> first(List<McExample> examples, int n) {
        return examples.size() <= n ? examples : examples.subList(0, n);
    }
}
