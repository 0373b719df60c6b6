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
import io.guardedtuning.attack.KnownDefence;
import io.guardedtuning.data.PackageCache;
import io.guardedtuning.privacy.ClientDefence;
import io.guardedtuning.privacy.DistanceCorrelation;
import io.guardedtuning.privacy.DistanceCorrelationPenalty;
import io.guardedtuning.privacy.LeakageGuard;
import io.guardedtuning.privacy.PrivacyWarmup;
import io.guardedtuning.attack.PublicText;
import io.guardedtuning.session.AuditedSteps;
import io.guardedtuning.session.ClientSession;
import io.guardedtuning.session.RemoteBackboneLink;
import io.guardedtuning.session.SessionSettings;
import io.guardedtuning.session.SplitLanguageModel;
import io.guardedtuning.session.SplitProtocol;
import io.guardedtuning.split.ActivationRegularizer;
import io.guardedtuning.split.ClientSplitTrainer;
import io.guardedtuning.split.Design;
import io.guardedtuning.tensor.HostTensor;
import io.guardedtuning.tensor.TensorDigest;
import io.guardedtuning.train.AdamW;
import io.guardedtuning.train.LearningRateSchedule;
import io.guardedtuning.train.TaskBatches;

import java.io.IOException;
import java.util.List;
import java.util.Map;
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
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Listener listener;

    public SplitRun(ClientSettings settings, BackboneLinks links, Listener listener) {
        this.settings = settings;
        this.links = links;
        this.listener = listener;
    }

    /** Runs the session and returns its summary (status "done"); throws when it cannot finish. */
    public ObjectNode run(ObjectNode summary) throws IOException, InterruptedException {
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
             ClientDefence defence = defence(data, client, split, summary);
             DistanceCorrelationPenalty penalty = s.alpha() > 0   // null: no penalty, nothing to close
                     ? new DistanceCorrelationPenalty(s.alpha(), DistanceCorrelation.perToken()) : null;
             ClientSplitTrainer trainer = new ClientSplitTrainer(client, split, s.design(), AdamW.Settings.defaults(),
                     LearningRateSchedule.constant(s.learningRate()),
                     penalty != null ? penalty : ActivationRegularizer.NONE, true)) {
            try {
                AuditedSteps audited = links.audit().steps();
                // The auditor's findings, as this client scores them, feed the same budget as its own check.
                links.audit().onScored(defence::auditScored);
                listener.phase(SessionProgress.Phase.EVALUATING_BEFORE);
                KnownDefence known = defence.known(s.design(), s.alpha(), s.learningRate());
                putAccuracy(summary.putObject("accuracyBefore"), evaluator.evaluate(new SplitLanguageModel(client,
                        split, defence.around(links.startPass(SplitProtocol.EVAL_BEFORE, known)),
                        SplitProtocol.EVAL_BEFORE, audited), test));

                listener.phase(SessionProgress.Phase.TRAINING);
                TaskBatches batches = new TaskBatches(train, encoder, s.batchSize(), s.seed());
                listener.totalSteps(ClientSession.totalSteps(s, batches));
                RemoteBackboneLink link = links.startPass(SplitProtocol.TRAIN, known);
                ClientSession.Summary trained = ClientSession.train(s, trainer, batches, defence.around(link),
                        settings.checkpointDir().orElse(null), audited,
                        step -> listener.step(step.step(), step.taskLoss()));
                RemoteBackboneLink.Stats training = link.stats();
                summary.put("adaptersSha256",
                        TensorDigest.sha256(client.toTensors(trainer.trainable().keySet()::contains)));

                listener.phase(SessionProgress.Phase.EVALUATING_AFTER);
                putAccuracy(summary.putObject("accuracyAfter"), evaluator.evaluate(new SplitLanguageModel(client,
                        split, defence.around(links.startPass(SplitProtocol.EVAL_AFTER, known)),
                        SplitProtocol.EVAL_AFTER, audited), test));

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
            } finally {
                // On failure too: the budget's moves and the largest leakage sent explain why a session stopped.
                describe(defence, summary.putObject("defence"));
            }
        } catch (IOException | RuntimeException e) {
            // What the auditor scored before the failure: the leakage of the steps that did cross, without waiting.
            recordAudit(summary.putObject("audit"), false);
            throw e;
        }
        listener.phase(SessionProgress.Phase.AWAITING_AUDIT);
        awaitAudit(summary.putObject("audit"));
        summary.put("wallMillis", (System.nanoTime() - wallStart) / 1_000_000);
        return summary;
    }

    /**
     * Waits (up to {@code gt.client.audit-wait}) until the auditor's reconstructions of every sampled training step
     * have been scored here, then records the scores: the headline (max over scored training steps, step 0
     * included, of the strongest attack, with its chance floor) and every scored step. Only this summary and the
     * numbers sent to the auditor hold them; the rows they were scored against stay in this process.
     */
    private void awaitAudit(ObjectNode out) throws InterruptedException {
        AuditedSteps audited = links.audit().steps();
        recordAudit(out, settings.auditWait().isZero() || audited.awaitTrainingScored(settings.auditWait()));
    }

    /** The scores this client has so far: the headline and every scored step ({@code complete}: all of them). */
    private void recordAudit(ObjectNode out, boolean complete) {
        AuditedSteps audited = links.audit().steps();
        out.put("complete", complete);
        if (links.audit().lastRefusal() != null) {
            out.put("lastRefusal", links.audit().lastRefusal());
        }
        out.set("headline", JSON.valueToTree(audited.headline()));
        out.set("scored", JSON.valueToTree(audited.scored()));
    }

    /**
     * The session's defences, prepared before the first exchange: the warm-up (through the model directory's middle
     * layers as the local stand-in of the backbone: for the bundled model the pretrained backbone, which the provider
     * ships anyway as the Offline emulator's source), the noise calibration and the budget's own attacker.
     */
    private ClientDefence defence(ClientTask data, OptModel client, Split split, ObjectNode summary)
            throws IOException {
        ClientSettings.Privacy p = settings.privacy();
        if (p.defence().isNone()) {
            return ClientDefence.none(settings.session().bitsUp());
        }
        listener.phase(SessionProgress.Phase.LOADING);
        PackageCache cache = new PackageCache();
        List<int[]> publicText = PublicText.heldOut(cache, data.tokenizer(), data.config().bosTokenId(),
                p.publicRows(), PublicText.WARMUP_ROW_TOKENS);
        List<int[]> attackerText = p.defence().leakageBudget() == 0 ? List.of() : PublicText.heldOut(cache,
                data.tokenizer(), data.config().bosTokenId(), PublicText.ATTACKER_MAX_ROWS,
                PublicText.ATTACKER_ROW_TOKENS);
        Map<String, HostTensor> pretrained = client.toTensors(split.client());
        if (p.defence().warmup().isNone()) {
            return ClientDefence.prepare(p.defence(), client, pretrained, null, split, publicText, attackerText,
                    settings.session().bitsUp(), p.probe(), PrivacyWarmup.OwnRows.NONE);
        }
        try (OptModel standIn = ModelFiles.load(data.modelDir(), split.backbone())) {
            return ClientDefence.prepare(p.defence(), client, pretrained, standIn, split, publicText, attackerText,
                    settings.session().bitsUp(), p.probe(), PrivacyWarmup.OwnRows.of(data.encoder(), data.train()));
        }
    }

    /** The defence as the summary reports it: what was announced, the warm-up, and every move of the budget. */
    private void describe(ClientDefence defence, ObjectNode n) {
        SessionSettings s = settings.session();
        KnownDefence known = defence.known(s.design(), s.alpha(), s.learningRate());
        known.toAttributes().forEach(n.putObject("announced")::put);
        n.put("noiseStd", defence.noiseStd()).put("noiseUnitRms", defence.rms());
        PrivacyWarmup.Report w = defence.warmup();
        if (!Double.isNaN(w.lmLossBefore())) {
            ObjectNode warmup = n.putObject("warmup").put("recipe", w.recipe()).put("lmLossBefore", w.lmLossBefore())
                    .put("lmLossAfter", w.lmLossAfter()).put("dcorBefore", w.dcorBefore())
                    .put("dcorAfter", w.dcorAfter()).put("millis", w.millis());
            if (w.candidateLosses().length > 1) {
                // Losses on the client's own rows: numbers about its data, kept in the client's summary.
                warmup.put("kept", w.kept()).set("candidateAnswerLosses", JSON.valueToTree(w.candidateLosses()));
            }
        }
        LeakageGuard.Report b = defence.budget();
        if (b != null) {
            ObjectNode budget = n.putObject("leakageBudget").put("budget", b.budget())
                    .put("batchesChecked", b.batchesChecked()).put("maxLeakageSent", b.maxLeakageSent())
                    .put("finalNoiseStd", b.finalStd()).put("stopped", b.stopped());
            b.moves().forEach(m -> {
                ObjectNode move = budget.withArray("moves").addObject().put("pass", m.pass()).put("step", m.step())
                        .put("cause", m.cause()).put("fromNoiseStd", m.fromStd()).put("toNoiseStd", m.toStd())
                        .put("leakageBefore", m.leakageBefore());
                if (Double.isNaN(m.leakageAfter())) {
                    move.putNull("leakageAfter");
                } else {
                    move.put("leakageAfter", m.leakageAfter());
                }
            });
        }
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
