package io.guardedtuning.offline;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.guardedtuning.checkpoint.Safetensors;
import io.guardedtuning.engine.DjlRuntime;
import io.guardedtuning.model.OptModel;
import io.guardedtuning.model.TokenBatch;
import io.guardedtuning.storage.AtomicFiles;
import io.guardedtuning.tensor.HostTensor;
import io.guardedtuning.train.AdamW;
import io.guardedtuning.train.LearningRateSchedule;
import io.guardedtuning.train.LmLoss;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * Offsite-Tuning's optional distillation of the emulator's middle on public text. Teacher (the real middle, frozen)
 * and student (the emulator's kept layers) get the same input, the bottom adapter's output;
 * {@code L = LM(emulator) + w·KD} with {@code KD = mean((h_T − h_S)²) / mean(h_T²)}. Only the emulator's middle
 * layers train. The batch of step {@code n} depends on {@code n} alone, so a run resumed from a checkpoint
 * (emulator middle + AdamW state + step, written atomically every N steps) continues exactly as if uninterrupted.
 */
public final class Distiller {

    private static final String MIDDLE_FILE = "emulator-middle.safetensors";
    private static final String OPTIMIZER_FILE = "optimizer.safetensors";
    private static final String STATE_FILE = "state.json";
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * @param checkpointEvery steps between checkpoints; 0 for none
     */
    public record Settings(int steps, int batchSize, float learningRate, int warmupSteps, float kdWeight,
                           int checkpointEvery) {
        public Settings {
            if (steps < 0 || batchSize < 1 || !(learningRate > 0) || kdWeight < 0 || checkpointEvery < 0) {
                throw new IllegalArgumentException("invalid distillation settings");
            }
        }

        /** The published recipe's loss weight (30) and schedule shape, scaled to {@code steps}. */
        public static Settings offsiteTuning(int steps, int batchSize, int checkpointEvery) {
            return new Settings(steps, batchSize, 1e-4f, Math.min(2000, steps / 10), 30f, checkpointEvery);
        }

        LearningRateSchedule schedule() {
            return new LearningRateSchedule(learningRate, warmupSteps, steps, 0f);
        }
    }

    /** After each step: the combined loss and its parts, before the update. */
    public record Progress(long step, int totalSteps, double loss, double lmLoss, double kd) {
    }

    /** How a run ended: {@code resumedFrom} is the checkpoint step it started at (0 for a fresh run). */
    public record Result(long stepsDone, long resumedFrom, boolean cancelled, List<Progress> history) {
    }

    private final OptModel full;
    private final OptModel emulator;
    private final EmulatorLayout layout;
    private final List<int[]> sequences;
    private final Settings settings;

    /**
     * @param full      the provider's full model (teacher), never modified
     * @param emulator  the emulator built from it by {@link EmulatorBuilder}; its middle layers are trained in place
     * @param sequences public token sequences, cycled in order
     */
    public Distiller(OptModel full, OptModel emulator, EmulatorLayout layout, List<int[]> sequences, Settings settings) {
        if (sequences.isEmpty()) {
            throw new IllegalArgumentException("distillation needs at least one public sequence");
        }
        this.full = full;
        this.emulator = emulator;
        this.layout = layout;
        this.sequences = List.copyOf(sequences);
        this.settings = settings;
    }

    /**
     * Trains until {@code settings.steps()} or until {@code cancelled} turns true (checked between steps). With a
     * checkpoint directory, a checkpoint of the same layout found there is resumed first.
     */
    public Result run(Path checkpointDir, BooleanSupplier cancelled, Consumer<Progress> progress) throws IOException {
        Map<String, NDArray> trainable = new LinkedHashMap<>();
        emulator.parameters().forEach((name, p) -> {
            if (layout.emulatorMiddle().test(name)) {
                trainable.put(name, p);
            }
        });
        List<Progress> history = new ArrayList<>();
        try (AdamW optimizer = new AdamW(new AdamW.Settings(0.9f, 0.999f, 1e-8f, 0f, 1.0f));
             NDManager constants = DjlRuntime.newManager()) {
            long start = checkpointDir == null ? 0 : resume(checkpointDir, optimizer);
            // A long-lived scalar: Number operands inside the graph are a DJL use-after-free.
            NDArray kdWeight = constants.create(settings.kdWeight());
            emulator.setTrainable(trainable.keySet());
            LearningRateSchedule schedule = settings.schedule();
            long step = start;
            try {
                while (step < settings.steps()) {
                    if (cancelled.getAsBoolean()) {
                        return new Result(step, start, true, history);
                    }
                    Progress p = step(step, kdWeight);
                    optimizer.update(trainable, schedule.at(step));
                    step++;
                    history.add(p);
                    progress.accept(p);
                    if (checkpointDir != null && settings.checkpointEvery() > 0 && step % settings.checkpointEvery() == 0) {
                        checkpoint(checkpointDir, optimizer, step);
                    }
                }
            } finally {
                emulator.setTrainable(List.of());
            }
            return new Result(step, start, false, history);
        }
    }

    private Progress step(long step, NDArray kdWeight) {
        try (NDManager scope = DjlRuntime.newManager();
             TokenBatch batch = TokenBatch.of(scope, batchAt(step), null, emulator.config().padTokenId());
             GradientCollector gc = DjlRuntime.gradientCollector()) {
            Teacher t = teacher(batch);
            NDArray student = emulator.blocks(t.input(), batch, layout.k(), layout.k() + layout.keptMiddle().length);
            NDArray kd = kd(t.output(), student);
            NDArray lm = LmLoss.mean(emulator.head(emulator.blocks(student, batch,
                    layout.k() + layout.keptMiddle().length, layout.emulatorLayers())), batch);
            NDArray loss = lm.add(kd.mul(kdWeight));
            gc.backward(loss);
            return new Progress(step + 1, settings.steps(), loss.getFloat(), lm.getFloat(), kd.getFloat());
        }
    }

    private record Teacher(NDArray input, NDArray output) {
    }

    /** The bottom adapter's output and the real middle's output on it, computed outside the graph. */
    private Teacher teacher(TokenBatch batch) {
        return DjlRuntime.withoutGradients(() -> {
            NDArray input = full.blocks(full.embed(batch), batch, 0, layout.k());
            return new Teacher(input, full.blocks(input, batch, layout.k(), layout.fullLayers() - layout.k()));
        });
    }

    /** Squared error normalised by the teacher's mean square (one scalar over the whole batch tensor). */
    private static NDArray kd(NDArray teacher, NDArray student) {
        NDArray teacherPower = teacher.square().mean();
        return teacher.sub(student).square().mean().div(teacherPower);
    }

    /** The KD loss of the current emulator on some sequences, without training: to measure distillation. */
    public double kdLoss(List<int[]> evalSequences) {
        return DjlRuntime.withoutGradients(() -> {
            try (NDManager scope = DjlRuntime.newManager();
                 TokenBatch batch = TokenBatch.of(scope, evalSequences, null, emulator.config().padTokenId())) {
                Teacher t = teacher(batch);
                NDArray student = emulator.blocks(t.input(), batch, layout.k(), layout.k() + layout.keptMiddle().length);
                return (double) kd(t.output(), student).getFloat();
            }
        });
    }

    private List<int[]> batchAt(long step) {
        List<int[]> out = new ArrayList<>(settings.batchSize());
        long first = step * settings.batchSize();
        for (int i = 0; i < settings.batchSize(); i++) {
            out.add(sequences.get((int) ((first + i) % sequences.size())));
        }
        return out;
    }

    private void checkpoint(Path dir, AdamW optimizer, long step) throws IOException {
        Map<String, HostTensor> middle = emulator.toTensors(layout.emulatorMiddle());
        Map<String, HostTensor> state = optimizer.state();
        ObjectNode json = JSON.createObjectNode();
        json.put("step", step);
        json.put("layout", layout.toString());
        json.put("sequences", sequences.size());
        byte[] stateJson = JSON.writeValueAsBytes(json);
        AtomicFiles.replaceDirectory(dir, temp -> {
            Safetensors.write(temp.resolve(MIDDLE_FILE), middle, Safetensors.Dtype.F32);
            Safetensors.write(temp.resolve(OPTIMIZER_FILE), state, Safetensors.Dtype.F32);
            AtomicFiles.write(temp.resolve(STATE_FILE), stateJson);
        });
    }

    /** Loads a checkpoint of this same job if one is there; returns the step to continue from. */
    private long resume(Path dir, AdamW optimizer) throws IOException {
        Path stateFile = dir.resolve(STATE_FILE);
        if (!Files.isRegularFile(stateFile)) {
            return 0;
        }
        JsonNode state = JSON.readTree(stateFile.toFile());
        if (!layout.toString().equals(state.path("layout").asText())
                || state.path("sequences").asInt() != sequences.size()) {
            throw new IOException(dir + ": checkpoint belongs to another distillation job (" + state + ")");
        }
        emulator.load(Safetensors.readAll(dir.resolve(MIDDLE_FILE)));
        optimizer.restore(Safetensors.readAll(dir.resolve(OPTIMIZER_FILE)));
        return state.path("step").asLong();
    }

    /** Removes a job's checkpoint once its result is safely published. */
    public static void deleteCheckpoint(Path dir) throws IOException {
        AtomicFiles.deleteRecursively(dir);
    }
}
