package io.guardedtuning.cli;

import io.guardedtuning.deploy.local.RunSpec;
import io.guardedtuning.model.TinyOpt;
import io.guardedtuning.split.Design;
import picocli.CommandLine.Option;

/** The settings of one local session, shared by {@code gt run} and {@code gt demo}. */
final class SessionOptions {

    @Option(names = "--design", defaultValue = "online", description = "online | gradfree | offline "
            + "(default: ${DEFAULT-VALUE})")
    String design;

    @Option(names = "--k", defaultValue = "2", description = "Adapter size in layers (default: ${DEFAULT-VALUE}).")
    int k;

    @Option(names = "--alpha", defaultValue = "0", description = "Weight of the dCor² regulariser on h_in "
            + "(Online; default: ${DEFAULT-VALUE}).")
    float alpha;

    @Option(names = "--bits", defaultValue = "8", description = "Activation precision on the wire both ways: 32, 16, "
            + "8, 4 (default: ${DEFAULT-VALUE}).")
    int bits;

    @Option(names = "--gradient-bits", defaultValue = "8", description = "Gradient precision both ways (Online; "
            + "default: ${DEFAULT-VALUE}).")
    int gradientBits;

    @Option(names = "--batch-size", defaultValue = "8", description = "Training sequences per step.")
    int batchSize;

    @Option(names = "--lr", defaultValue = "3e-3", description = "Learning rate (default: ${DEFAULT-VALUE}).")
    float learningRate;

    @Option(names = "--epochs", defaultValue = "1", description = "Passes over the training examples.")
    int epochs;

    @Option(names = "--max-steps", defaultValue = "0", description = "Stop after this many steps (0: all epochs).")
    int maxSteps;

    @Option(names = "--seed", defaultValue = "1", description = "Data-order seed.")
    long seed;

    @Option(names = "--model", defaultValue = TinyOpt.NAME, description = "Hugging Face OPT directory or '"
            + TinyOpt.NAME + "' (default).")
    String model;

    @Option(names = "--task", defaultValue = "spam-assassin", description = "spam-assassin, imdb-sentiment, or "
            + "KIND:TEST.jsonl,TRAIN.jsonl (default: ${DEFAULT-VALUE}).")
    String task;

    @Option(names = "--train-size", defaultValue = "400", description = "Training examples (default: ${DEFAULT-VALUE}).")
    int trainSize;

    @Option(names = "--eval-size", defaultValue = "200", description = "Test examples (default: ${DEFAULT-VALUE}).")
    int evalSize;

    @Option(names = "--audit-every", defaultValue = "5", description = "The auditor attacks every Nth training step, "
            + "step 0 included, and the client keeps those steps' rows to score the attacks itself (default: "
            + "${DEFAULT-VALUE}).")
    int auditEvery;

    @Option(names = "--kept-layers", defaultValue = "0", description = "Offline: middle blocks the emulator keeps "
            + "(0: half of the middle; default: ${DEFAULT-VALUE}).")
    int keptLayers;

    @Option(names = "--distil-steps", defaultValue = "0", description = "Offline: distillation steps on public text "
            + "before the emulator is released (default: ${DEFAULT-VALUE}).")
    int distilSteps;

    @Option(names = "--noise", defaultValue = "0", description = "Gaussian noise the client adds to h_in, σ as a "
            + "multiple of the pretrained h_in's RMS on public text (announced; default: ${DEFAULT-VALUE}).")
    float noise;

    @Option(names = "--warmup", defaultValue = "none", description = "Privacy warm-up of the client's adapters on "
            + "public text before the first exchange: none, or "
            + "dcor-lm[:steps=N,lr=X,alpha=X,perturb=X,batch=N,candidates=K,unalign=W] (kept usable by the LM loss; "
            + "unalign: also against SIP read through a moment-matching affine map), or dcor-kd[:...] (by "
            + "distillation from the pretrained model) "
            + "(announced; default: ${DEFAULT-VALUE}).")
    String warmup;

    @Option(names = "--leakage-budget", defaultValue = "0", description = "Largest ROUGE-L F1 the client's own "
            + "attack may score on any batch it sends; over it the client raises the noise or stops (0: no budget; "
            + "default: ${DEFAULT-VALUE}).")
    double leakageBudget;

    @Option(names = "--no-baseline", description = "Skip the centralized reference fine-tune (no Δ in the report).")
    boolean noBaseline;

    RunSpec spec(String id) {
        Design d = Design.parse(design);
        RunSpec.Defence defence = new RunSpec.Defence(noise, warmup, leakageBudget);
        String derived = RunSpec.idFor(d, k, alpha, bits, task, keptLayers, seed) + (defence.isNone() ? ""
                : String.format(java.util.Locale.ROOT, "-n%s-w%s-lb%s", noise, warmup.equals("none") ? "0" : "1",
                leakageBudget).replace('.', 'p'));
        return new RunSpec(id == null ? derived : id, d, k, alpha, bits, bits, gradientBits, gradientBits, batchSize,
                learningRate, epochs, seed, model, task, trainSize, evalSize, maxSteps, auditEvery, !noBaseline,
                keptLayers, distilSteps, defence);
    }
}
