package io.guardedtuning.offline;

import io.guardedtuning.data.McExample;
import io.guardedtuning.eval.McEncoder;
import io.guardedtuning.model.OptModel;
import io.guardedtuning.tensor.HostTensor;
import io.guardedtuning.train.StepResult;
import io.guardedtuning.train.TaskFinetuner;

import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Client side of the Offline design: fine-tunes only the emulator's adapters (emulator middle, embeddings and the
 * tied head frozen) on the private task, locally, and hands back the tuned adapters in full-model naming. Nothing
 * crosses the network per step.
 */
public final class OffsiteTuning {

    /** Tuned adapters named as in the full model, the training history and the wall time it took. */
    public record TunedAdapters(Map<String, HostTensor> adapters, List<StepResult> history, long millis) {
    }

    private OffsiteTuning() {
    }

    public static TunedAdapters tuneAdapters(OptModel emulator, EmulatorLayout layout, McEncoder encoder,
                                             List<McExample> train, TaskFinetuner.Settings settings,
                                             Consumer<StepResult> progress) {
        return tuneAdapters(emulator, layout, encoder, train, settings, TaskFinetuner.steps(train.size(), settings),
                progress);
    }

    /** Exactly {@code steps} steps, in the data order a split session with the same seed would see. */
    public static TunedAdapters tuneAdapters(OptModel emulator, EmulatorLayout layout, McEncoder encoder,
                                             List<McExample> train, TaskFinetuner.Settings settings, int steps,
                                             Consumer<StepResult> progress) {
        long started = System.nanoTime();
        List<StepResult> history = TaskFinetuner.run(emulator, encoder, train, layout.emulatorSplit().adapters(),
                settings, steps, progress);
        Map<String, HostTensor> tuned = layout.adaptersToFull(emulator.toTensors(layout.emulatorSplit().adapters()));
        return new TunedAdapters(tuned, history, (System.nanoTime() - started) / 1_000_000);
    }
}
