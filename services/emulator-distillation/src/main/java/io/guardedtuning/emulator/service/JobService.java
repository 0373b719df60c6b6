package io.guardedtuning.emulator.service;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.guardedtuning.checkpoint.Safetensors;
import io.guardedtuning.data.McExample;
import io.guardedtuning.data.McTask;
import io.guardedtuning.data.PackageCache;
import io.guardedtuning.data.TaskRegistry;
import io.guardedtuning.emulator.config.EmulatorConfig;
import io.guardedtuning.offline.EmulatorRequest;
import io.guardedtuning.emulator.messaging.ProgressEvent;
import io.guardedtuning.emulator.messaging.WireOut;
import io.guardedtuning.eval.McEncoder;
import io.guardedtuning.eval.MultipleChoiceEvaluator;
import io.guardedtuning.messaging.Topics;
import io.guardedtuning.model.OptModel;
import io.guardedtuning.model.Split;
import io.guardedtuning.offline.Distiller;
import io.guardedtuning.offline.EmulatorBuilder;
import io.guardedtuning.offline.EmulatorGap;
import io.guardedtuning.offline.EmulatorLayout;
import io.guardedtuning.offline.EmulatorPackage;
import io.guardedtuning.offline.FidelityGuard;
import io.guardedtuning.offline.OfflineTransport;
import io.guardedtuning.offline.PackageRejectedException;
import io.guardedtuning.offline.PlugIn;
import io.guardedtuning.offline.TensorBytes;
import io.guardedtuning.offline.Watermark;
import io.guardedtuning.session.SessionVerifiers;
import io.guardedtuning.storage.AtomicFiles;
import io.guardedtuning.tensor.HostTensor;
import io.guardedtuning.wire.DeadLetters;
import io.guardedtuning.wire.EventKind;
import io.guardedtuning.wire.RejectReason;
import io.guardedtuning.wire.TensorEvent;
import io.guardedtuning.wire.Verdict;
import io.guardedtuning.wire.WireLimits;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.Quarkus;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The provider side of the Offline design. A request builds the session's emulator (layer-drop, optional
 * distillation with checkpoints), applies the fidelity guard and the session's watermark, signs the package and
 * publishes it in chunks on the session's down topic. Returned adapters are verified, plugged into the full model
 * and evaluated against the emulator. All model work runs on one worker thread: a JVM has one GradientCollector.
 */
@ApplicationScoped
public class JobService {

    public static final String SOURCE = "emulator-distillation";
    private static final Logger LOG = Logger.getLogger(JobService.class);
    private static final String JOB_FILE = "job.json";
    private static final String EMULATOR_FILE = "emulator-unmarked.safetensors";
    private static final String ADAPTERS_FILE = "adapters.safetensors";
    private static final String CHECKPOINT_DIR = "distillation-checkpoint";
    /** The signed package as released, so a client that restarted before receiving it can be sent it again. */
    private static final String PACKAGE_FILE = "package.bin";

    @Inject
    EmulatorConfig config;

    @Inject
    WireOut out;

    @Inject
    ObjectMapper json;

    @Inject
    MeterRegistry metrics;

    private final Map<String, Job> jobs = new ConcurrentHashMap<>();
    /**
     * Per-session verification and reassembly of adapter chunks, held only for sessions whose key signed one
     * (bounded); touched only by the adapter consumer's thread.
     */
    private SessionVerifiers<String> adapterReceivers;
    private final ExecutorService worker = Executors.newSingleThreadExecutor(r -> new Thread(r, "emulator-worker"));
    private volatile ProviderSecrets secrets;
    private ProviderAssets assets;

    void onStart(@Observes StartupEvent started) throws IOException {
        secrets = ProviderSecrets.from(config);
        adapterReceivers = new SessionVerifiers<>(secrets.sessionKeys()::forSession, Set.of(EventKind.ADAPTER),
                WireLimits.chunkedDefaults(), Clock.systemUTC(), SessionVerifiers.DEFAULT_MAX_SESSIONS,
                (session, key) -> session, session -> { });
        Files.createDirectories(config.jobsDir());
        try (Stream<Path> dirs = Files.list(config.jobsDir())) {
            for (Path file : dirs.map(d -> d.resolve(JOB_FILE)).filter(Files::isRegularFile).toList()) {
                Job job = Job.restore(json.readValue(file.toFile(), JobStatus.class));
                jobs.put(job.session(), job);
                if (!job.phase().finished()) {
                    LOG.infof("resuming emulator job of session %s from phase %s", job.session(), job.phase());
                    worker.submit(() -> run(job));
                }
                exitIfServedSessionEnded(job);
            }
        }
    }

    void onStop(@Observes ShutdownEvent stopping) throws InterruptedException {
        jobs.values().forEach(Job::requestCancel);
        worker.shutdown();
        worker.awaitTermination(30, TimeUnit.SECONDS);
    }

    public Collection<JobStatus> statuses() {
        return jobs.values().stream().map(Job::status).toList();
    }

    public Optional<JobStatus> status(String session) {
        return Optional.ofNullable(jobs.get(session)).map(Job::status);
    }

    /** The key clients verify packages with (base64 X.509). */
    public String publicKeyBase64() {
        return io.guardedtuning.offline.ProviderKeys.toBase64(secrets.publicKey());
    }

    /**
     * Called on the request consumer's thread with a record of {@code gt.emulator.requests}: verified under the
     * session's key before anything is read or created (an unsigned or forged request, however early, creates no
     * job), refused as a replay unless newer than the session's latest accepted request, then queued.
     */
    public void onRequestRecord(ConsumerRecord<String, byte[]> record) {
        if (!servedSession(record)) {
            return;
        }
        String session = record.key();
        EmulatorRequest.Signed signed;
        try {
            signed = EmulatorRequest.verify(secrets.sessionKeys().forSession(session), record);
        } catch (OfflineTransport.RejectedRecordException e) {
            deadLetter(record, e.verdict().reason(), e.verdict().detail());
            return;
        }
        Job existing = jobs.get(session);
        if (existing != null && !existing.acceptRequest(signed.sentMillis())) {
            deadLetter(record, RejectReason.REPLAYED, "request sent at " + signed.sentMillis()
                    + " ms is not newer than the session's latest accepted request (" + existing.lastRequestMillis()
                    + " ms)");
            return;
        }
        metrics.counter("gt_emulator_requests_total", "outcome", "accepted").increment();
        if (signed.request().isCancel()) {
            if (existing == null) {
                deadLetter(record, RejectReason.PROTOCOL, "session " + session + " has no emulator job to cancel");
                return;
            }
            persist(existing);
            cancel(session);
        } else if (existing == null) {
            start(new Job(signed.request(), signed.sentMillis()));
        } else {
            persist(existing);
            askedAgain(existing);
        }
    }

    private void start(Job job) {
        Job raced = jobs.putIfAbsent(job.session(), job);
        if (raced != null) {
            askedAgain(raced);
            return;
        }
        persist(job);
        publish(job, 0, 0, null);
        worker.submit(() -> run(job));
    }

    private void askedAgain(Job existing) {
        if (existing.phase() == Job.Phase.PUBLISHED) {
            // The client asks again: it restarted before the package reached it.
            worker.submit(() -> republish(existing));
        } else {
            LOG.warnf("session %s already has an emulator job (%s); request ignored", existing.session(),
                    existing.phase().label());
        }
    }

    /** Cancels a session's job (the operator over REST, or the session's signed cancel); false when it has none. */
    public boolean cancel(String session) {
        Job job = jobs.get(session);
        if (job == null) {
            return false;
        }
        job.requestCancel();
        // A queued job never reaches a step check; mark it now.
        if (job.phase() == Job.Phase.QUEUED) {
            finish(job, Job.Phase.CANCELLED, "cancelled before it started");
        }
        return true;
    }

    // ------------------------------------------------------------------ building and releasing

    private void run(Job job) {
        if (job.cancelRequested() || job.phase().finished()) {
            return;
        }
        EmulatorRequest r = job.request();
        try {
            ProviderAssets a = assets();
            enter(job, Job.Phase.BUILDING, null);
            EmulatorLayout layout = EmulatorLayout.uniform(new Split(r.k(), a.config().numHiddenLayers()),
                    r.keptLayers());
            job.keptFullLayers(layout.keptFullLayers());
            EmulatorBuilder.Emulator emulator = EmulatorBuilder.build(a.config(), a.tensors(), layout);
            Path jobDir = jobDir(job.session());
            try (OptModel full = OptModel.fromTensors(a.config(), a.tensors());
                 OptModel emulatorModel = emulator.toModel()) {
                if (r.distilSteps() > 0) {
                    enter(job, Job.Phase.DISTILLING, null);
                    EmulatorConfig.Distillation d = config.distillation();
                    Distiller.Settings settings = new Distiller.Settings(r.distilSteps(), d.batchSize(),
                            d.learningRate(), Math.min(2000, r.distilSteps() / 10), 30f, d.checkpointEvery());
                    Distiller.Result result = new Distiller(full, emulatorModel, layout, a.distillationText(), settings)
                            .run(jobDir.resolve(CHECKPOINT_DIR), job::cancelRequested, p -> {
                                job.progress(p.step(), p.totalSteps(), p.loss());
                                publish(job, p.step(), p.totalSteps(), p.loss());
                            });
                    if (result.cancelled()) {
                        finish(job, Job.Phase.CANCELLED, "cancelled at distillation step " + result.stepsDone());
                        return;
                    }
                    emulator = new EmulatorBuilder.Emulator(emulator.config(), layout, emulatorModel.toTensors(n -> true));
                }
                enter(job, Job.Phase.GUARDING, null);
                FidelityGuard guard = new FidelityGuard(config.guard().minPerplexityRatio(),
                        config.guard().maxAccuracyRatio());
                FidelityGuard.Assessment assessment = guard.assess(full, emulatorModel, a.heldOutText(),
                        config.evaluation().batchSize());
                String refusal = assessment.releasable() ? accuracyRefusal(guard, full, emulatorModel, r.task())
                        : assessment.reason();
                if (!refusal.isEmpty()) {
                    finish(job, Job.Phase.REFUSED, refusal);
                    return;
                }
                job.result(Map.of("emulator_perplexity", assessment.emulatorPerplexity(),
                        "full_perplexity", assessment.fullPerplexity(),
                        "perplexity_ratio", assessment.perplexityRatio()));
            }
            if (cancelledNow(job)) {
                return;
            }
            enter(job, Job.Phase.WATERMARKING, null);
            Safetensors.write(jobDir.resolve(EMULATOR_FILE), emulator.tensors(), Safetensors.Dtype.F32);
            Map<String, HostTensor> marked = watermark(layout).apply(emulator.tensors(), job.session());
            enter(job, Job.Phase.PUBLISHING, null);
            byte[] pkg = EmulatorPackage.create(job.session(),
                    new EmulatorBuilder.Emulator(emulator.config(), layout, marked), secrets.signingKey());
            AtomicFiles.write(jobDir.resolve(PACKAGE_FILE), pkg);
            sendPackage(job.session(), pkg);
            job.published(EmulatorPackage.sha256(pkg), pkg.length);
            metrics.counter("gt_emulator_package_bytes_total").increment(pkg.length);
            finish(job, Job.Phase.PUBLISHED, "package of " + pkg.length + " bytes on "
                    + Topics.sessionDown(job.session()));
            Distiller.deleteCheckpoint(jobDir.resolve(CHECKPOINT_DIR));
        } catch (Exception e) {
            LOG.errorf(e, "emulator job of session %s failed", job.session());
            finish(job, Job.Phase.FAILED, String.valueOf(e.getMessage()));
        }
    }

    private void sendPackage(String session, byte[] pkg) {
        out.sendAll(OfflineTransport.packageRecords(secrets.sessionKeys().forSession(session), SOURCE, pkg));
    }

    private void republish(Job job) {
        try {
            byte[] pkg = Files.readAllBytes(jobDir(job.session()).resolve(PACKAGE_FILE));
            sendPackage(job.session(), pkg);
            metrics.counter("gt_emulator_packages_resent_total").increment();
            LOG.infof("package of session %s sent again (%d bytes)", job.session(), pkg.length);
        } catch (IOException | RuntimeException e) {
            LOG.errorf(e, "cannot send the package of session %s again", job.session());
        }
    }

    private String accuracyRefusal(FidelityGuard guard, OptModel full, OptModel emulator, String task)
            throws IOException {
        if (!(config.guard().maxAccuracyRatio() > 0) || task == null || task.isBlank()) {
            return "";
        }
        ProviderSideTask readable = providerSideTask(task);
        if (readable.examples() == null) {
            // The ceiling is the provider's own safeguard: an emulator it cannot check is not released.
            return "the accuracy ceiling (max-accuracy-ratio) cannot be checked: " + readable.unreadable();
        }
        List<McExample> examples = readable.examples();
        MultipleChoiceEvaluator evaluator = evaluator();
        return guard.accuracyRefusal(evaluator.evaluate(emulator::logits, examples).accuracy(),
                evaluator.evaluate(full::logits, examples).accuracy());
    }

    private boolean cancelledNow(Job job) {
        if (job.cancelRequested()) {
            finish(job, Job.Phase.CANCELLED, "cancelled before release");
            return true;
        }
        return false;
    }

    // ------------------------------------------------------------------ adapters coming back

    /** Called on the adapter consumer's thread: authenticate and reassemble, then hand whole events to the worker. */
    public void onAdapterRecord(ConsumerRecord<String, byte[]> record) {
        if (!servedSession(record)) {
            return;
        }
        String session = record.key();
        Verdict verdict = adapterReceivers.verify(record).verdict();
        if (verdict instanceof Verdict.Rejected rejected) {
            deadLetter(record, rejected.reason(), rejected.detail());
        } else if (verdict instanceof Verdict.Accepted accepted) {
            worker.submit(() -> plugIn(session, accepted.event(), record));
        }
    }

    private void plugIn(String session, TensorEvent event, ConsumerRecord<String, byte[]> lastRecord) {
        Job job = jobs.get(session);
        if (job == null || !job.phase().released()) {
            deadLetter(lastRecord, RejectReason.PROTOCOL, "no emulator package was released to session " + session);
            return;
        }
        String bound = event.metadata().attribute(OfflineTransport.PACKAGE_ATTRIBUTE);
        if (!job.packageDigest().equals(bound)) {
            deadLetter(lastRecord, RejectReason.PROTOCOL, "adapters were tuned from package " + bound
                    + ", session " + session + " received " + job.packageDigest());
            return;
        }
        try {
            ProviderAssets a = assets();
            Path jobDir = jobDir(session);
            Map<String, HostTensor> adapters = TensorBytes.decode(event.payload());
            int[] kept = job.status().keptFullLayers();
            EmulatorLayout layout = new EmulatorLayout(a.config().numHiddenLayers(), job.request().k(),
                    relative(kept, job.request().k()));
            Map<String, HostTensor> released = watermark(layout)
                    .apply(Safetensors.readAll(jobDir.resolve(EMULATOR_FILE)), session);
            try (OptModel plugged = OptModel.fromTensors(a.config(), a.tensors());
                 OptModel emulator = OptModel.fromTensors(layout.emulatorConfig(a.config()), released)) {
                PlugIn.install(plugged, layout.fullSplit(), adapters);
                emulator.load(layout.adaptersToEmulator(adapters));
                Safetensors.write(jobDir.resolve(ADAPTERS_FILE), adapters, Safetensors.Dtype.F32);
                Map<String, Object> result = new LinkedHashMap<>();
                String task = job.request().task();
                ProviderSideTask readable = task == null || task.isBlank() ? null : providerSideTask(task);
                if (readable != null && readable.examples() == null) {
                    result.put("gap_not_measured", readable.unreadable());
                } else if (readable != null) {
                    EmulatorGap gap = EmulatorGap.measure(emulator, plugged, evaluator(), readable.examples(),
                            a.heldOutText(), config.evaluation().batchSize());
                    result.put("task", task);
                    result.put("examples", gap.examples());
                    result.put("emulator_accuracy", gap.emulatorAccuracy());
                    result.put("plugin_accuracy", gap.plugInAccuracy());
                    result.put("accuracy_gap", gap.accuracyGap());
                    result.put("emulator_perplexity", gap.emulatorPerplexity());
                    result.put("plugin_perplexity", gap.plugInPerplexity());
                }
                job.result(result);
                metrics.counter("gt_emulator_adapters_total", "outcome", "plugged-in").increment();
                finish(job, Job.Phase.PLUGGED_IN, "adapters installed around the full middle");
            }
        } catch (PackageRejectedException e) {
            deadLetter(lastRecord, RejectReason.PROTOCOL, e.getMessage());
        } catch (Exception e) {
            LOG.errorf(e, "plug-in for session %s failed", session);
            deadLetter(lastRecord, RejectReason.PROTOCOL, "adapters could not be plugged in: " + e.getMessage());
        }
    }

    private static int[] relative(int[] keptFullLayers, int k) {
        int[] out = new int[keptFullLayers.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = keptFullLayers[i] - k;
        }
        return out;
    }

    private void deadLetter(ConsumerRecord<String, byte[]> record, RejectReason reason, String detail) {
        LOG.warnf("dead-lettering %s record of key %s: %s %s", record.topic(), record.key(), reason, detail);
        metrics.counter(Topics.EMULATOR_REQUESTS.equals(record.topic()) ? "gt_emulator_requests_total"
                : "gt_emulator_adapters_total", "outcome", "rejected").increment();
        out.send(DeadLetters.record(Topics.DEAD_LETTER, record, new Verdict.Rejected(reason, detail)));
    }

    // ------------------------------------------------------------------ helpers

    private synchronized ProviderAssets assets() throws IOException {
        if (assets == null) {
            assets = ProviderAssets.load(config);
        }
        return assets;
    }

    private Watermark watermark(EmulatorLayout layout) {
        return new Watermark(secrets.watermarkKey(), layout, config.watermarkStrength());
    }

    private MultipleChoiceEvaluator evaluator() throws IOException {
        McEncoder encoder = new McEncoder(assets().tokenizer(), assets().config().bosTokenId(),
                Math.min(config.evaluation().maxTokens(), assets().config().maxPositionEmbeddings()));
        return new MultipleChoiceEvaluator(encoder, assets().config().padTokenId(), config.evaluation().batchSize());
    }

    /** A session's task as the provider can read it: its examples, or why there are none (null examples). */
    private record ProviderSideTask(List<McExample> examples, String unreadable) {
    }

    /**
     * The session's task, read on the provider's side for the accuracy ceiling and the emulator gap. A data owner's
     * own file exists only on its side: then both checks say why they have no examples instead of failing the job.
     */
    private ProviderSideTask providerSideTask(String task) {
        try {
            return new ProviderSideTask(evalExamples(task), null);
        } catch (IOException | IllegalArgumentException e) {
            return new ProviderSideTask(null, "the task is not readable on the provider's side ("
                    + e.getClass().getSimpleName() + ")");
        }
    }

    private List<McExample> evalExamples(String taskName) throws IOException {
        McTask task = new TaskRegistry(new PackageCache()).resolve(taskName);
        List<McExample> examples = !task.validation().isEmpty() ? task.validation() : task.test();
        return new ArrayList<>(examples.subList(0, Math.min(examples.size(), config.evaluation().maxExamples())));
    }

    private Path jobDir(String session) {
        return config.jobsDir().resolve(Topics.requireSessionId(session));
    }

    private void enter(Job job, Job.Phase phase, String detail) {
        job.enter(phase, detail);
        persist(job);
        publish(job, 0, 0, null);
    }

    private void finish(Job job, Job.Phase phase, String detail) {
        enter(job, phase, detail);
        metrics.counter("gt_emulator_jobs_total", "phase", phase.label()).increment();
        exitIfServedSessionEnded(job);
    }

    /** True for a record keyed by a valid id of a session this process serves; an invalid key is dead-lettered. */
    private boolean servedSession(ConsumerRecord<String, byte[]> record) {
        try {
            Topics.requireSessionId(record.key());
        } catch (IllegalArgumentException e) {
            deadLetter(record, RejectReason.WRONG_SESSION, e.getMessage());
            return false;
        }
        return serves(record.key());
    }

    /** False for other sessions when this process is one session's job (gt.emulator.session). */
    private boolean serves(String session) {
        return config.session().map(session::equals).orElse(true);
    }

    /** A one-session job process ends with its session's job: 0 once plugged in, 1 when it cannot get there. */
    private void exitIfServedSessionEnded(Job job) {
        if (config.session().isEmpty() || !serves(job.session()) || !job.phase().ended()) {
            return;
        }
        int code = job.phase() == Job.Phase.PLUGGED_IN ? 0 : 1;
        LOG.infof("the job of session %s ended (%s); exiting with %d", job.session(), job.phase().label(), code);
        Quarkus.asyncExit(code);
    }

    private void publish(Job job, long step, long total, Double loss) {
        JobStatus s = job.status();
        out.progress(new ProgressEvent(s.session(), s.phase(), step, total, loss, s.detail(), s.result()));
    }

    private void persist(Job job) {
        try {
            AtomicFiles.write(jobDir(job.session()).resolve(JOB_FILE), json.writeValueAsBytes(job.status()));
        } catch (IOException e) {
            LOG.errorf(e, "cannot persist job state of session %s", job.session());
        }
    }
}
