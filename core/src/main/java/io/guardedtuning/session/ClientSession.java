package io.guardedtuning.session;

import io.guardedtuning.model.OptModel;
import io.guardedtuning.split.BackboneLink;
import io.guardedtuning.split.ClientSplitTrainer;
import io.guardedtuning.split.ClientStep;
import io.guardedtuning.train.TaskBatches;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * Drives one client's training run: batches in a resumable order, one split step each, every step's rows to the
 * client's own audit keeper (pass {@link SplitProtocol#TRAIN}), and a checkpoint every N steps. A restarted client picks up from its last checkpoint
 * and, the math being deterministic, ends with the same weights as an uninterrupted run.
 */
public final class ClientSession {

    /** How a run went. */
    public record Summary(String sessionId, long steps, long resumedFromStep, List<Double> losses,
                          double firstLoss, double lastLoss, long clientComputeMillis, long wallMillis,
                          int backboneCachedSteps) {
    }

    private ClientSession() {
    }

    public static long totalSteps(SessionSettings s, TaskBatches batches) {
        long all = (long) s.epochs() * batches.batchesPerEpoch();
        return s.maxSteps() > 0 ? Math.min(all, s.maxSteps()) : all;
    }

    public static Summary train(SessionSettings s, ClientSplitTrainer trainer, TaskBatches batches,
                                BackboneLink link, Path checkpointDir, AuditSink audit,
                                Consumer<ClientStep> progress) throws IOException {
        long started = System.nanoTime();
        long resumedFrom = 0;
        if (checkpointDir != null) {
            Optional<ClientCheckpoint> cp = ClientCheckpoint.load(checkpointDir, s.sessionId());
            if (cp.isPresent()) {
                trainer.model().load(cp.get().adapters());
                trainer.optimizer().restore(cp.get().optimizer());
                batches.seek(cp.get().epoch(), cp.get().position());
                resumedFrom = cp.get().step();
            }
        }
        long total = totalSteps(s, batches);
        List<Double> losses = new ArrayList<>();
        long compute = 0;
        int cached = 0;
        if (resumedFrom < total) {
            prepare(trainer, link, audit, resumedFrom, batches.peek());
        }
        for (long step = resumedFrom; step < total; step++) {
            TaskBatches.Batch b = batches.next();
            if (step + 1 < total) {
                prepare(trainer, link, audit, step + 1, batches.peek());
            }
            link.beforeBatch(b.sequences());
            ClientStep r = trainer.step(link, b.sequences(), b.lossFrom(), b.exampleIds());
            losses.add(r.taskLoss());
            compute += r.clientMillis();
            cached += r.backboneCached() ? 1 : 0;
            progress.accept(r);
            if (checkpointDir != null && s.checkpointEvery() > 0 && (step + 1) % s.checkpointEvery() == 0) {
                checkpoint(trainer, batches, step + 1).save(checkpointDir, s.sessionId());
            }
        }
        double first = losses.isEmpty() ? Double.NaN : losses.get(0);
        double last = losses.isEmpty() ? Double.NaN : losses.get(losses.size() - 1);
        return new Summary(s.sessionId(), total - resumedFrom, resumedFrom, losses, first, last, compute,
                (System.nanoTime() - started) / 1_000_000, cached);
    }

    /**
     * Before a step's first byte can leave: its rows are held for the audit (an answer can come back within the
     * step), and Gradfree sends its h_in ahead, while the step before it still runs.
     */
    private static void prepare(ClientSplitTrainer trainer, BackboneLink link, AuditSink audit, long step,
                                TaskBatches.Batch b) {
        audit.step(SplitProtocol.TRAIN, step, b.sequences(), trainer.crossesWire(b.exampleIds()));
        trainer.sendAhead(link, step, b.sequences(), b.lossFrom(), b.exampleIds());
    }

    private static ClientCheckpoint checkpoint(ClientSplitTrainer trainer, TaskBatches batches, long step) {
        OptModel m = trainer.model();
        return new ClientCheckpoint(step, batches.epoch(), batches.position(),
                m.toTensors(trainer.trainable().keySet()::contains), trainer.optimizer().state());
    }
}
