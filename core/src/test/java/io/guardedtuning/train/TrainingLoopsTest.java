package io.guardedtuning.train;

import io.guardedtuning.data.McExample;
import io.guardedtuning.eval.McEncoder;
import io.guardedtuning.eval.MultipleChoiceEvaluator;
import io.guardedtuning.model.OptConfig;
import io.guardedtuning.model.OptModel;
import io.guardedtuning.model.Split;
import io.guardedtuning.tokenizer.Gpt2Vocabulary;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TrainingLoopsTest {

    private static final Gpt2Vocabulary VOCAB = Gpt2Vocabulary.truncated(40);

    private static OptConfig config() {
        return OptConfig.of(VOCAB.vocabSize(), 32, 4, 64, 4, 64)
                .withSpecialTokens(VOCAB.padTokenId(), VOCAB.bosTokenId(), VOCAB.eosTokenId());
    }

    @Test
    void pretrainingLowersLossAndHeldOutPerplexityOnAPatternedStream() {
        int[] pattern = VOCAB.tokenizer().encode("the cat sat on the mat. ");
        int[] stream = new int[4000];
        for (int i = 0; i < stream.length; i++) {
            stream[i] = pattern[i % pattern.length];
        }
        try (OptModel model = OptModel.random(config(), 1)) {
            double before = io.guardedtuning.eval.Perplexity.evaluate(model,
                    Pretrainer.windows(stream, 32, 8), 8).perplexity();
            Pretrainer.Report r = Pretrainer.run(model, stream, stream,
                    new Pretrainer.Settings(60, 8, 32, 1e-2f, 5, 0.0f, 7, 8), s -> { });
            assertEquals(60, r.history().size());
            assertTrue(r.lastLoss() < r.firstLoss() - 1.0, r.firstLoss() + " -> " + r.lastLoss());
            assertTrue(r.heldOut().perplexity() < before / 3, before + " -> " + r.heldOut().perplexity());
            assertTrue(r.tokensTrained() > 0);
        }
    }

    @Test
    void centralizedFinetuningOfAdaptersLearnsAHandMadeTask() {
        List<McExample> train = new ArrayList<>();
        String[] words = {"red", "blue", "green", "gold", "pink", "gray"};
        for (int i = 0; i < 36; i++) {
            boolean yes = i % 2 == 0;
            String w = words[i % words.length];
            train.add(new McExample("t" + i, (yes ? "sun " : "rain ") + w + " ->", List.of(" no", " yes"),
                    yes ? 1 : 0));
        }
        McEncoder encoder = new McEncoder(VOCAB.tokenizer(), VOCAB.bosTokenId(), 32);
        MultipleChoiceEvaluator eval = new MultipleChoiceEvaluator(encoder, VOCAB.padTokenId(), 16);
        OptConfig c = config();
        try (OptModel model = OptModel.random(c, 3)) {
            Split split = Split.of(1, c);
            var before = model.toTensors(n -> true);
            List<StepResult> h = TaskFinetuner.run(model, encoder, train, split.adapters(),
                    new TaskFinetuner.Settings(6, 6, 1e-2f, 0f, 5), s -> { });
            assertEquals(TaskFinetuner.steps(train.size(), new TaskFinetuner.Settings(6, 6, 1e-2f, 0f, 5)),
                    h.size());
            assertEquals(1.0, eval.evaluate(model::logits, train).accuracy(), 1e-9);
            Set<String> changed = new HashSet<>();
            model.toTensors(n -> true).forEach((n, t) -> {
                if (!t.equals(before.get(n))) {
                    changed.add(n);
                }
            });
            assertTrue(changed.stream().allMatch(split.adapters()), "only adapters change: " + changed);
            assertTrue(!changed.isEmpty());
        }
    }

    @Test
    void trainingStepsLeaveNoArraysBehind() {
        int[] stream = VOCAB.tokenizer().encode("a leak would grow the managers step after step. ".repeat(20));
        try (OptModel model = OptModel.random(config(), 2)) {
            LocalTrainer trainer = new LocalTrainer(model, n -> true, AdamW.Settings.defaults(),
                    LearningRateSchedule.constant(1e-3f));
            List<int[]> batch = List.of(java.util.Arrays.copyOf(stream, 24), java.util.Arrays.copyOfRange(stream, 5, 29));
            trainer.step(batch, null);
            trainer.step(batch, null);
            int modelArrays = managed(model.manager());
            int optimizerArrays = managed(trainer.optimizer().manager());
            for (int i = 0; i < 5; i++) {
                trainer.step(batch, null);
            }
            assertEquals(modelArrays, managed(model.manager()), "arrays leaked into the model's manager");
            assertEquals(optimizerArrays, managed(trainer.optimizer().manager()),
                    "arrays leaked into the optimizer's manager");
            trainer.close();
        }
    }

    private static int managed(ai.djl.ndarray.NDManager m) {
        return ((ai.djl.ndarray.BaseNDManager) m).getManagedArrays().size();
    }

    @Test
    void taskBatchesResumeExactlyFromACursor() {
        List<McExample> ex = new ArrayList<>();
        for (int i = 0; i < 7; i++) {
            ex.add(new McExample("e" + i, "x" + i, List.of(" a", " b"), i % 2));
        }
        McEncoder encoder = new McEncoder(VOCAB.tokenizer(), VOCAB.bosTokenId(), 16);
        TaskBatches a = new TaskBatches(ex, encoder, 3, 9);
        List<List<String>> seen = new ArrayList<>();
        for (int i = 0; i < 7; i++) {
            seen.add(a.next().exampleIds());
        }
        TaskBatches b = new TaskBatches(ex, encoder, 3, 9);
        for (int i = 0; i < 4; i++) {
            b.next();
        }
        TaskBatches resumed = new TaskBatches(ex, encoder, 3, 9);
        resumed.seek(b.epoch(), b.position());
        for (int i = 4; i < 7; i++) {
            assertEquals(seen.get(i), resumed.next().exampleIds());
        }
        Set<String> firstEpoch = new HashSet<>();
        seen.subList(0, 3).forEach(firstEpoch::addAll);
        assertEquals(7, firstEpoch.size(), "an epoch visits every example once");
    }
}
