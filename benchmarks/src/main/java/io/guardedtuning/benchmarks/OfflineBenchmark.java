package io.guardedtuning.benchmarks;

import io.guardedtuning.checkpoint.ModelCatalog;
import io.guardedtuning.data.Corpus;
import io.guardedtuning.data.DerivedTasks;
import io.guardedtuning.data.Document;
import io.guardedtuning.data.McExample;
import io.guardedtuning.data.McTask;
import io.guardedtuning.data.PackageCache;
import io.guardedtuning.data.SplitSizes;
import io.guardedtuning.data.TaskRegistry;
import io.guardedtuning.eval.McEncoder;
import io.guardedtuning.eval.MultipleChoiceEvaluator;
import io.guardedtuning.model.OptConfig;
import io.guardedtuning.model.OptModel;
import io.guardedtuning.model.Split;
import io.guardedtuning.model.TinyOpt;
import io.guardedtuning.offline.Distiller;
import io.guardedtuning.offline.EmulatorBuilder;
import io.guardedtuning.offline.EmulatorLayout;
import io.guardedtuning.offline.EmulatorPackage;
import io.guardedtuning.offline.OffsiteTuning;
import io.guardedtuning.offline.PlugIn;
import io.guardedtuning.offline.ProviderKeys;
import io.guardedtuning.offline.TensorBytes;
import io.guardedtuning.tensor.HostTensor;
import io.guardedtuning.tokenizer.BpeTokenizer;
import io.guardedtuning.train.Pretrainer;
import io.guardedtuning.train.TaskBatches;
import io.guardedtuning.train.TaskFinetuner;

import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Offline design vs centralized fine-tuning on one task (a benchmark, not a test): accuracy of the full model and
 * the emulator zero-shot, of centralized adapter fine-tuning, of the emulator with its tuned adapters and of the
 * plug-in; the Offline design's one-time bytes against what Online would send for the same epochs (4 fp32 tensors
 * of B·L·d per step, L the batch's padded length); the client's compute per epoch.
 *
 * <pre>
 * java -cp "$CP" io.guardedtuning.benchmarks.OfflineBenchmark [model=gt-tiny-opt] [task=imdb-sentiment] [k=2]
 *      [kept=2] [distil=200] [epochs=2] [batch=8] [lr=1e-3] [train=400] [eval=200] [tokens=256]
 * </pre>
 */
public final class OfflineBenchmark {

    private OfflineBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> a = SplitBench.Options.parse(args).values();
        Path modelDir = ModelCatalog.resolve(a.getOrDefault("model", TinyOpt.NAME));
        String taskName = a.getOrDefault("task", "imdb-sentiment");
        int k = Integer.parseInt(a.getOrDefault("k", "2"));
        int kept = Integer.parseInt(a.getOrDefault("kept", "2"));
        int distilSteps = Integer.parseInt(a.getOrDefault("distil", "200"));
        int maxTokens = Integer.parseInt(a.getOrDefault("tokens", "256"));
        TaskFinetuner.Settings training = new TaskFinetuner.Settings(Integer.parseInt(a.getOrDefault("epochs", "2")),
                Integer.parseInt(a.getOrDefault("batch", "8")), Float.parseFloat(a.getOrDefault("lr", "1e-3")), 0f, 1);

        ModelCatalog.Model whole = ModelCatalog.Model.load(modelDir);
        Map<String, HostTensor> fullTensors = whole.tensors();
        OptConfig config = whole.config();
        BpeTokenizer tokenizer = whole.tokenizer();
        int trainCount = Integer.parseInt(a.getOrDefault("train", "400"));
        int evalCount = Integer.parseInt(a.getOrDefault("eval", "200"));
        // Ask the registry for the sizes (balanced splits): derived tasks list their examples class by class, so
        // the first N of a larger split can be a single class.
        McTask task = new TaskRegistry(new PackageCache(), new SplitSizes(trainCount, evalCount, evalCount),
                DerivedTasks.DEFAULT_MAX_CONTEXT_CHARS).resolve(taskName);
        List<McExample> eval = cap(task.validation().isEmpty() ? task.test() : task.validation(), evalCount);
        List<McExample> train = cap(task.train(), trainCount);
        McEncoder encoder = new McEncoder(tokenizer, config.bosTokenId(), Math.min(maxTokens,
                config.maxPositionEmbeddings()));
        MultipleChoiceEvaluator evaluator = new MultipleChoiceEvaluator(encoder, config.padTokenId(), 16);
        Split split = Split.of(k, config);
        EmulatorLayout layout = EmulatorLayout.uniform(split, kept);
        System.out.printf("model %s (%d layers, d=%d), task %s (%d train, %d eval), emulator %s, distil %d steps, %s%n",
                modelDir, config.numHiddenLayers(), config.hiddenSize(), taskName, train.size(), eval.size(), layout,
                distilSteps, training);

        double fullZeroShot;
        double centralized;
        long centralizedMillis;
        try (OptModel full = OptModel.fromTensors(config, fullTensors)) {
            fullZeroShot = evaluator.evaluate(full::logits, eval).accuracy();
            long t = System.nanoTime();
            TaskFinetuner.run(full, encoder, train, split.adapters(), training, s -> { });
            centralizedMillis = (System.nanoTime() - t) / 1_000_000;
            centralized = evaluator.evaluate(full::logits, eval).accuracy();
        }

        EmulatorBuilder.Emulator emulator = EmulatorBuilder.build(config, fullTensors, layout);
        if (distilSteps > 0) {
            emulator = distil(config, fullTensors, emulator, tokenizer, distilSteps);
        }
        byte[] pkg = EmulatorPackage.create("bench", emulator, ProviderKeys.generate().getPrivate());
        double emulatorZeroShot;
        double emulatorTuned;
        OffsiteTuning.TunedAdapters tuned;
        try (OptModel model = emulator.toModel()) {
            emulatorZeroShot = evaluator.evaluate(model::logits, eval).accuracy();
            tuned = OffsiteTuning.tuneAdapters(model, layout, encoder, train, training, s -> { });
            emulatorTuned = evaluator.evaluate(model::logits, eval).accuracy();
        }
        double plugIn;
        try (OptModel full = OptModel.fromTensors(config, fullTensors)) {
            PlugIn.install(full, split, tuned.adapters());
            plugIn = evaluator.evaluate(full::logits, eval).accuracy();
        }
        long adapterBytes = TensorBytes.encode(tuned.adapters()).length;
        long onlineBytes = onlineBytes(train, encoder, training, config.hiddenSize());

        System.out.println();
        System.out.println("| setting | accuracy |");
        System.out.println("|---|---:|");
        System.out.printf("| full zero-shot | %.4f |%n", fullZeroShot);
        System.out.printf("| emulator zero-shot | %.4f |%n", emulatorZeroShot);
        System.out.printf("| centralized (full model, adapters tuned) | %.4f |%n", centralized);
        System.out.printf("| emulator + tuned adapters (client's view) | %.4f |%n", emulatorTuned);
        System.out.printf("| plug-in (provider's full model + returned adapters) | %.4f |%n", plugIn);
        System.out.println();
        System.out.printf("Offline one-time bytes: package %d + adapters up %d = %d%n", pkg.length, adapterBytes,
                pkg.length + adapterBytes);
        System.out.printf("Online bytes for %d epochs (fp32, 4 tensors of B*L*d per step): %d (int8 ~%d)%n",
                training.epochs(), onlineBytes, onlineBytes / 4);
        System.out.printf("Offline / Online (fp32): %.4f%n", (double) (pkg.length + adapterBytes) / onlineBytes);
        System.out.printf("client compute per epoch: emulator %d ms; centralized full model %d ms%n",
                tuned.millis() / training.epochs(), centralizedMillis / training.epochs());
    }

    private static EmulatorBuilder.Emulator distil(OptConfig config, Map<String, HostTensor> fullTensors,
                                                   EmulatorBuilder.Emulator emulator, BpeTokenizer tokenizer,
                                                   int steps) throws Exception {
        Corpus corpus = Corpus.load(new PackageCache(), EnumSet.allOf(Corpus.Source.class), 2_000_000);
        String text = corpus.train().stream().map(Document::text).collect(Collectors.joining("\n\n"));
        List<int[]> windows = Pretrainer.windows(tokenizer.encode(text), Math.min(128, config.maxPositionEmbeddings()),
                10_000);
        try (OptModel full = OptModel.fromTensors(config, fullTensors); OptModel model = emulator.toModel()) {
            Distiller d = new Distiller(full, model, emulator.layout(), windows,
                    Distiller.Settings.offsiteTuning(steps, 8, 0));
            Distiller.Result r = d.run(null, () -> false, p -> { });
            System.out.printf("distilled %d steps: KD %.4f -> %.4f%n", r.stepsDone(), r.history().get(0).kd(),
                    r.history().get(r.history().size() - 1).kd());
            return new EmulatorBuilder.Emulator(emulator.config(), emulator.layout(), model.toTensors(n -> true));
        }
    }

    /** What Online sends for the same data order: per step 4 fp32 tensors of B × padded length × d. */
    private static long onlineBytes(List<McExample> train, McEncoder encoder, TaskFinetuner.Settings s, int hidden) {
        TaskBatches batches = new TaskBatches(train, encoder, s.batchSize(), s.seed());
        long bytes = 0;
        for (int step = 0; step < TaskFinetuner.steps(train.size(), s); step++) {
            List<int[]> seqs = batches.next().sequences();
            int length = seqs.stream().mapToInt(x -> x.length).max().orElse(0);
            bytes += 4L * seqs.size() * length * hidden * Float.BYTES;
        }
        return bytes;
    }

    private static List<McExample> cap(List<McExample> examples, int max) {
        return List.copyOf(examples.subList(0, Math.min(max, examples.size())));
    }
}
