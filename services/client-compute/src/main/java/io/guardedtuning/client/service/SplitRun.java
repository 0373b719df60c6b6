package io.guardedtuning.client.service;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.guardedtuning.checkpoint.ModelFiles;
import io.guardedtuning.client.config.ClientSettings;
import io.guardedtuning.data.McExample;
import io.guardedtuning.eval.McEncoder;
import io.guardedtuning.eval.MultipleChoiceEvaluator;
import io.guardedtuning.model.OptModel;
import io.guardedtuning.model.Split;
import io.guardedtuning.privacy.DistanceCorrelation;
import io.guardedtuning.privacy.DistanceCorrelationPenalty;
import io.guardedtuning.session.AuditSamples;
import io.guardedtuning.session.ClientSession;
import io.guardedtuning.session.RemoteBackboneLink;
import io.guardedtuning.session.SessionSettings;
import io.guardedtuning.session.SplitLanguageModel;
import io.guardedtuning.split.ActivationRegularizer;
import io.guardedtuning.split.ClientSplitTrainer;
import io.guardedtuning.split.Design;
import io.guardedtuning.tensor.TensorDigest;
import io.guardedtuning.train.AdamW;
import io.guardedtuning.train.LearningRateSchedule;
import io.guardedtuning.train.TaskBatches;
import io.guardedtuning.wire.TensorEventWriter;
import io.guardedtuning.wire.WireLimits;

import java.io.IOException;
import java.util.List;
import java.util.function.Consumer;

/**
 * One client run, start to end: load the client's part of the model, evaluate through the split, train, evaluate
 * again, and describe it all in the summary. Runs on one thread; every protocol detail is core's.
 */
public final class SplitRun {

    /** What the run reports as it goes. */
    public interface Listener {
        void phase(SessionProgress.Phase phase);

        void totalSteps(long steps);

        /** A training step ended: its index from 0 and its task loss. */
        void step(long index, double taskLoss);
    }

    private final ClientSettings settings;
    private final BackboneLinks links;
    private final RemoteBackboneLink.RecordSink sink;
    private final Listener listener;

    public SplitRun(ClientSettings settings, BackboneLinks links, RemoteBackboneLink.RecordSink sink,
                    Listener listener) {
        this.settings = settings;
        this.links = links;
        this.sink = sink;
        this.listener = listener;
    }

    /** Runs the session and returns its summary (status "done"); throws when it cannot finish. */
    public ObjectNode run(ObjectNode summary) throws IOException {
        SessionSettings s = settings.session();
        long wallStart = System.nanoTime();
        listener.phase(SessionProgress.Phase.LOADING);
        ClientTask data = ClientTask.load(settings);
        Split split = s.split(data.config());
        data.describe(summary);
        List<McExample> train = data.train();
        List<McExample> test = data.test();
        McEncoder encoder = data.encoder();
        MultipleChoiceEvaluator evaluator = data.evaluator();

        try (OptModel client = ModelFiles.load(data.modelDir(), split.client());
             DistanceCorrelationPenalty penalty = s.alpha() > 0   // null: no penalty, nothing to close
                     ? new DistanceCorrelationPenalty(s.alpha(), DistanceCorrelation.perToken()) : null;
             ClientSplitTrainer trainer = new ClientSplitTrainer(client, split, s.design(), AdamW.Settings.defaults(),
                     LearningRateSchedule.constant(s.learningRate()),
                     penalty != null ? penalty : ActivationRegularizer.NONE, true)) {
            listener.phase(SessionProgress.Phase.EVALUATING_BEFORE);
            putAccuracy(summary.putObject("accuracyBefore"), evaluator.evaluate(
                    new SplitLanguageModel(client, split, links.startPass()), test));

            listener.phase(SessionProgress.Phase.TRAINING);
            TaskBatches batches = new TaskBatches(train, encoder, s.batchSize(), s.seed());
            listener.totalSteps(ClientSession.totalSteps(s, batches));
            RemoteBackboneLink link = links.startPass();
            ClientSession.Summary trained = ClientSession.train(s, trainer, batches, link,
                    settings.checkpointDir().orElse(null),
                    AuditSamples.publisher(new TensorEventWriter(settings.producerId(), settings.key(),
                            WireLimits.chunkedDefaults()), sink), step -> listener.step(step.step(), step.taskLoss()));
            RemoteBackboneLink.Stats training = link.stats();
            summary.put("adaptersSha256",
                    TensorDigest.sha256(client.toTensors(trainer.trainable().keySet()::contains)));

            listener.phase(SessionProgress.Phase.EVALUATING_AFTER);
            putAccuracy(summary.putObject("accuracyAfter"), evaluator.evaluate(
                    new SplitLanguageModel(client, split, links.startPass()), test));

            summary.put("steps", trained.steps()).put("resumedFromStep", trained.resumedFromStep())
                    .put("firstLoss", trained.firstLoss()).put("lastLoss", trained.lastLoss())
                    .put("backboneCachedSteps", trained.backboneCachedSteps());
            trained.losses().forEach(summary.putArray("losses")::add);
            summary.put("clientComputeMillis", trained.clientComputeMillis());
            long steps = Math.max(1, trained.steps());
            summary.putObject("bytesPerStep")
                    .put("up", training.bytesUp() / steps).put("down", training.bytesDown() / steps);
            ClientFlops.estimate(client, trainer.trainable().keySet(), trained.steps(), s.batchSize(),
                    meanTokens(encoder, train)).write(summary.putObject("clientFlops"));
        }
        summary.put("wallMillis", (System.nanoTime() - wallStart) / 1_000_000);
        return summary;
    }

    private static void putAccuracy(ObjectNode n, MultipleChoiceEvaluator.Result r) {
        n.put("acc", r.accuracy()).put("accNorm", r.normalizedAccuracy()).put("examples", r.examples());
    }

    private static double meanTokens(McEncoder encoder, List<McExample> train) {
        return train.stream().mapToInt(e -> encoder.encodeAnswer(e).tokens().length).average().orElse(0);
    }

    /** The settings as the summary records them. */
    public static ObjectNode describe(ClientSettings c, ObjectMapper json) {
        SessionSettings s = c.session();
        ObjectNode n = json.createObjectNode();
        n.put("sessionId", s.sessionId()).put("design", s.design().id()).put("k", s.k()).put("alpha", s.alpha())
                .put("bitsUp", s.bitsUp()).put("bitsDown", s.bitsDown()).put("gradientBitsUp", s.gradientBitsUp())
                .put("gradientBitsDown", s.gradientBitsDown()).put("batchSize", s.batchSize())
                .put("learningRate", s.learningRate()).put("epochs", s.epochs()).put("seed", s.seed())
                .put("checkpointEvery", s.checkpointEvery()).put("auditEvery", s.auditEvery())
                .put("maxSteps", s.maxSteps()).put("model", c.model()).put("task", c.taskName())
                .put("trainSize", c.trainSize()).put("evalSize", c.evalSize());
        if (s.design() == Design.OFFLINE) {
            n.put("offlineKeptLayers", c.offline().keptLayers()).put("offlineDistilSteps", c.offline().distilSteps())
                    .put("offlineDiscloseTask", c.offline().discloseTask());
        }
        return n;
    }
}
