package io.guardedtuning.cli;

import io.guardedtuning.deploy.local.LocalStack;
import picocli.CommandLine.Option;

import java.util.Map;

/** The provider's policy for local Offline runs, shared by {@code gt run} and {@code gt experiment}. */
final class ProviderOptions {

    @Option(names = "--emulator-guard", description = "Offline: the fidelity guard's floor, the emulator's held-out "
            + "perplexity over the full model's (emulator-distillation's default, 1.2, when not given). A layer-drop "
            + "emulator of a small model can be almost as good as the model, and is then refused.")
    Double minPerplexityRatio;

    void apply(LocalStack stack) {
        if (minPerplexityRatio != null) {
            stack.emulatorSettings(Map.of("gt.emulator.guard.min-perplexity-ratio", minPerplexityRatio.toString()));
        }
    }
}
