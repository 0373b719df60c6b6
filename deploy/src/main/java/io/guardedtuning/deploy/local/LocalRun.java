package io.guardedtuning.deploy.local;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.guardedtuning.checkpoint.ModelCatalog;
import io.guardedtuning.checkpoint.Safetensors;
import io.guardedtuning.checkpoint.ModelFiles;
import io.guardedtuning.cli.ProgressBar;
import io.guardedtuning.data.McExample;
import io.guardedtuning.data.McTask;
import io.guardedtuning.data.PackageCache;
import io.guardedtuning.data.SplitSizes;
import io.guardedtuning.data.TaskRegistry;
import io.guardedtuning.eval.McEncoder;
import io.guardedtuning.eval.MultipleChoiceEvaluator;
import io.guardedtuning.model.OptModel;
import io.guardedtuning.model.Split;
import io.guardedtuning.offline.PackageRejectedException;
import io.guardedtuning.offline.PlugIn;
import io.guardedtuning.split.Design;
import io.guardedtuning.storage.AtomicFiles;
import io.guardedtuning.tensor.HostTensor;
import io.guardedtuning.tokenizer.BpeTokenizer;
import io.guardedtuning.train.TaskFinetuner;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Runs one session on a {@link LocalStack} and writes its summary ({@code summary.json}) and report
 * ({@code report.html}) into the run's directory. A run whose summary exists is not run again (experiments resume).
 */
public final class LocalRun {

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    /** How long the auditor may take to read the scores the client sent before it exited. */
    private static final Duration AUDIT_SETTLE = Duration.ofMinutes(1);
    /** How long the client waits for the auditor's reconstructions of its sampled training steps. */
    static final Duration AUDIT_WAIT = Duration.ofMinutes(6);
    /** The same with attacks the user named: EIA and TAG at the auditor's caps take ~1 min per sampled step here. */
    static final Duration AUDIT_WAIT_ALL_ATTACKS = Duration.ofMinutes(45);
    /** How long the provider may take to plug the returned adapters in after the client is done. */
    private static final Duration PLUG_IN_WAIT = Duration.ofMinutes(5);

    private LocalRun() {
    }

    public static Path summaryPath(Path runDir) {
        return runDir.resolve("summary.json");
    }

    public static Optional<RunReport> existing(Path runDir) throws IOException {
        Path p = summaryPath(runDir);
        return Files.isRegularFile(p) ? Optional.of(JSON.readValue(p.toFile(), RunReport.class)) : Optional.empty();
    }

    public static RunReport run(LocalStack stack, RunSpec spec, Path runDir, String codeVersion)
            throws IOException, InterruptedException {
        Files.createDirectories(runDir);
        Instant started = Instant.now();
        long t0 = System.nanoTime();
        boolean offline = spec.design() == Design.OFFLINE;
        ProcessSupervisor.Managed emulator = null;
        if (offline) {
            System.err.printf(Locale.ROOT, "== %s: starting emulator-distillation, the provider's job for this "
                    + "session (k=%d, %s)%n", spec.id(), spec.k(), spec.model());
            emulator = stack.startEmulator(spec, runDir);
        } else {
            System.err.printf(Locale.ROOT, "== %s: starting server-compute and attack-audit (k=%d, %s)%n",
                    spec.id(), spec.k(), spec.model());
            stack.ensureProvider(spec.model(), spec.k(), spec.alpha() > 0 || !"none".equals(spec.defence().warmup()));
            System.err.println("   audit page: " + stack.auditorUrl() + " (user operator, password in "
                    + stack.operatorTokenFile() + ")");
        }
        ProcessSupervisor.Managed client = stack.startClient(spec, runDir);
        String failure = follow(stack, client, spec, emulator, runDir);
        int exit = client.process().waitFor();
        JsonNode summary = failure == null ? readClientSummary(runDir) : JSON.createObjectNode();
        JsonNode audit = offline ? null : settleAudit(stack, spec, summary);
        RunReport.Offline plugIn = null;
        if (offline && exit == 0 && failure == null) {
            try {
                plugIn = plugIn(emulator, spec, runDir, summary);
            } catch (IOException e) {
                failure = e.getMessage();
            }
        }
        Double centralized = spec.baseline() ? centralizedAccuracy(spec) : null;
        RunReport report = report(spec, summary, audit, plugIn, centralized, codeVersion, started,
                (System.nanoTime() - t0) / 1e9, exit, failure);
        AtomicFiles.write(summaryPath(runDir), JSON.writeValueAsBytes(report));
        AtomicFiles.write(runDir.resolve("report.html"), HtmlReport.render("GuardedTuning run " + spec.id(),
                List.of(report)).getBytes(java.nio.charset.StandardCharsets.UTF_8));
        return report;
    }

    /**
     * Offline: waits until the provider has plugged the returned adapters into the full model (its job process then
     * exits), and scores that plug-in model and the untouched full model on the client's own test examples, so the
     * numbers compare with the split designs' and with the emulator the client tuned on.
     */
    private static RunReport.Offline plugIn(ProcessSupervisor.Managed emulator, RunSpec spec, Path runDir,
                                            JsonNode client) throws IOException, InterruptedException {
        System.err.println("   " + spec.id() + ": waiting for the provider to plug the adapters in");
        if (!emulator.process().waitFor(PLUG_IN_WAIT.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)) {
            throw new IOException("emulator-distillation did not plug the adapters in within " + PLUG_IN_WAIT
                    + "; see its log " + emulator.log());
        }
        Path jobDir = LocalStack.emulatorJobDir(runDir, spec.id());
        if (emulator.process().exitValue() != 0) {
            throw new IOException("the provider did not plug the adapters in: " + jobOutcome(jobDir, emulator));
        }
        Map<String, HostTensor> adapters = Safetensors.readAll(jobDir.resolve("adapters.safetensors"));
        System.err.println("   " + spec.id() + ": scoring the full model before and with the tuned adapters");
        double before;
        double plugged;
        try (Reference full = Reference.load(spec)) {
            before = full.accuracy();
            PlugIn.install(full.model, full.split, adapters);
            plugged = full.accuracy();
        } catch (PackageRejectedException e) {
            throw new IOException("the provider's stored adapters do not fit the model: " + e.getMessage(), e);
        }
        double emulatorTuned = client.path("accuracyAfter").path("acc").asDouble(Double.NaN);
        return new RunReport.Offline(plugged, emulatorTuned, plugged - emulatorTuned,
                client.path("offline").path("packageBytes").asLong(), before);
    }

    /**
     * Streams the client's phases as progress bars (loss and bytes) until it exits. An Offline provider job that
     * ends while the client still waits for its package (refused, failed) stops the client, which would wait in
     * vain; the reason is returned (null when the client ran to its own end).
     */
    private static String follow(LocalStack stack, ProcessSupervisor.Managed client, RunSpec spec,
                                 ProcessSupervisor.Managed emulator, Path runDir) throws InterruptedException {
        String phase = "";
        ProgressBar bar = null;
        long lastStep = -1;
        while (client.process().isAlive()) {
            if (emulator != null && !emulator.process().isAlive() && "AWAITING_PACKAGE".equals(phase)) {
                ProcessSupervisor.stop(client);
                if (bar != null) {
                    bar.close();
                }
                return "emulator-distillation ended before releasing a package: "
                        + jobOutcome(LocalStack.emulatorJobDir(runDir, spec.id()), emulator);
            }
            Optional<JsonNode> status = stack.clientStatus(client);
            if (status.isPresent()) {
                JsonNode p = status.get().path("progress");
                String now = p.path("phase").asText();
                if (!now.equals(phase)) {
                    phase = now;
                    System.err.println("   " + spec.id() + ": " + phase.toLowerCase(Locale.ROOT).replace('_', ' '));
                    if ("TRAINING".equals(now)) {
                        bar = new ProgressBar("training", Math.max(1, p.path("totalSteps").asLong()));
                        lastStep = 0;
                    }
                }
                long step = p.path("step").asLong();
                if (bar != null && "TRAINING".equals(now)) {
                    JsonNode link = p.path("link");
                    while (lastStep < step) {
                        lastStep++;
                        String leakage = stack.auditReport(spec.id()).map(LocalRun::bestLeakage).orElse("");
                        bar.step(String.format(Locale.ROOT, "loss %.3f up %s down %s%s",
                                p.path("lastLoss").asDouble(), HtmlReport.bytes(link.path("bytesUp").asDouble()),
                                HtmlReport.bytes(link.path("bytesDown").asDouble()), leakage));
                    }
                }
            }
            Thread.sleep(1000);
        }
        if (bar != null) {
            bar.close();
        }
        return null;
    }

    /** The phase and detail the emulator job recorded, or where to look when it recorded none. */
    private static String jobOutcome(Path jobDir, ProcessSupervisor.Managed emulator) {
        try {
            JsonNode job = JSON.readTree(jobDir.resolve("job.json").toFile());
            return "job " + job.path("phase").asText() + ": " + job.path("detail").asText() + " (log "
                    + emulator.log() + ")";
        } catch (IOException e) {
            return "no job state (" + e.getMessage() + "); see its log " + emulator.log();
        }
    }

    private static String bestLeakage(JsonNode audit) {
        JsonNode h = audit.path("headline");
        return h.hasNonNull("rougeL") ? String.format(Locale.ROOT, " leakage %.2f", h.path("rougeL").asDouble()) : "";
    }

    private static JsonNode readClientSummary(Path runDir) throws IOException {
        Path p = runDir.resolve("client-summary.json");
        if (!Files.isRegularFile(p)) {
            throw new IOException("client-compute wrote no summary at " + p + "; see its log in the logs directory");
        }
        return JSON.readTree(p.toFile());
    }

    /**
     * The auditor's report once it holds every score the client computed. The client scores the auditor's
     * reconstructions of its sampled training steps itself (it waits for them, up to {@code gt.client.audit-wait},
     * before it exits) and sends the numbers back; the report is complete when the auditor has read them all.
     */
    private static JsonNode settleAudit(LocalStack stack, RunSpec spec, JsonNode client) throws InterruptedException {
        int scoredByClient = client.path("audit").path("headline").path("scoredSteps").asInt(0);
        long deadline = System.nanoTime() + AUDIT_SETTLE.toNanos();
        JsonNode report = stack.auditReport(spec.id()).orElse(null);
        while (System.nanoTime() < deadline && (report == null
                || report.path("headline").path("scoredSteps").asInt(0) < scoredByClient)) {
            Thread.sleep(1000);
            report = stack.auditReport(spec.id()).orElse(null);
        }
        return report;
    }

    /** Centralized fine-tuning of the same layers with the same data and settings, in this process. */
    private static Double centralizedAccuracy(RunSpec spec) throws IOException {
        System.err.println("   " + spec.id() + ": centralized reference (same layers, same data, one process)");
        TaskFinetuner.Settings s = new TaskFinetuner.Settings(spec.epochs(), spec.batchSize(), spec.learningRate(),
                0f, spec.seed());
        try (Reference full = Reference.load(spec)) {
            int all = TaskFinetuner.steps(full.train.size(), s);
            TaskFinetuner.run(full.model, full.encoder, full.train, spec.design() == Design.GRADFREE
                    ? full.split.outputAdapter() : full.split.adapters(), s,
                    spec.maxSteps() > 0 ? Math.min(all, spec.maxSteps()) : all, r -> { });
            return full.accuracy();
        }
    }

    /** The whole model in this process, with the run's training and test examples (the client's), for references. */
    private static final class Reference implements AutoCloseable {

        final OptModel model;
        final Split split;
        final McEncoder encoder;
        final List<McExample> train;
        private final List<McExample> test;

        private Reference(OptModel model, Split split, McEncoder encoder, List<McExample> train,
                          List<McExample> test) {
            this.model = model;
            this.split = split;
            this.encoder = encoder;
            this.train = train;
            this.test = test;
        }

        static Reference load(RunSpec spec) throws IOException {
            Path dir = ModelCatalog.resolve(spec.model());
            BpeTokenizer tokenizer = BpeTokenizer.fromDirectory(dir);
            McTask task = new TaskRegistry(new PackageCache(), new SplitSizes(spec.trainSize(),
                    Math.min(200, spec.evalSize()), spec.evalSize()), 600).resolve(spec.task());
            OptModel model = ModelFiles.load(dir);
            return new Reference(model, Split.of(spec.k(), model.config()),
                    new McEncoder(tokenizer, model.config().bosTokenId(),
                            Math.min(256, model.config().maxPositionEmbeddings())),
                    task.train().subList(0, Math.min(spec.trainSize(), task.train().size())),
                    task.test().subList(0, Math.min(spec.evalSize(), task.test().size())));
        }

        /** Accuracy on the test examples, as the model stands now. */
        double accuracy() {
            return new MultipleChoiceEvaluator(encoder, model.config().padTokenId(), 16)
                    .evaluate(model::logits, test).accuracy();
        }

        @Override
        public void close() {
            model.close();
        }
    }

    /**
     * The run's report. Utility is the model the client ends up served by: the split model in Online and Gradfree,
     * the provider's plug-in model in Offline (the emulator it tuned on is reported beside it).
     */
    static RunReport report(RunSpec spec, JsonNode c, JsonNode audit, RunReport.Offline offline, Double centralized,
                            String codeVersion, Instant started, double wallSeconds, int exitCode,
                            String failure) {
        double before = offline != null ? offline.fullModelAccuracyBefore()
                : c.path("accuracyBefore").path("acc").asDouble(Double.NaN);
        double after = offline != null ? offline.pluginAccuracy()
                : c.path("accuracyAfter").path("acc").asDouble(Double.NaN);
        RunReport.Utility utility = new RunReport.Utility(before, after,
                c.path("accuracyBefore").path("accNorm").asDouble(Double.NaN),
                c.path("accuracyAfter").path("accNorm").asDouble(Double.NaN), centralized,
                centralized == null ? null : after - centralized, c.path("accuracyAfter").path("examples").asInt());
        RunReport.Privacy privacy = privacy(audit);
        Map<String, List<double[]>> leakage = new LinkedHashMap<>();
        if (audit != null) {
            for (JsonNode series : training(audit)) {
                List<double[]> points = new ArrayList<>();
                for (JsonNode p : series.path("points")) {
                    if (p.hasNonNull("rougeL")) {
                        points.add(new double[] {p.path("step").asDouble(), p.path("rougeL").asDouble()});
                    }
                }
                leakage.put(series.path("attack").asText(), points);
            }
        }
        JsonNode link = c.path("link");
        long steps = c.path("steps").asLong();
        RunReport.Cost cost = new RunReport.Cost(steps, c.path("bytesPerStep").path("up").asDouble(),
                c.path("bytesPerStep").path("down").asDouble(), link.path("bytesUp").asLong(),
                link.path("bytesDown").asLong(), c.path("clientComputeMillis").asLong(), link.path("retries").asLong(),
                link.path("resendsServed").asLong());
        List<Double> losses = new ArrayList<>();
        c.path("losses").forEach(l -> losses.add(l.asDouble()));
        String status = failure != null ? "failed" : exitCode == 0 ? c.path("status").asText("done")
                : "failed (client exit " + exitCode + ")";
        RunReport.Run run = new RunReport.Run(spec.id(), spec.design().id(), spec.settings(), spec.model(),
                c.path("task").path("name").asText(spec.task()) + " (" + c.path("task").path("provenance").asText()
                        + ")", spec.k(), codeVersion, Machine.describe(), started.toString(), wallSeconds, status,
                failure != null ? failure : c.hasNonNull("error") ? c.path("error").asText() : null,
                c.hasNonNull("adaptersSha256") ? c.path("adaptersSha256").asText() : null);
        return new RunReport(run, utility, privacy, cost, offline, new RunReport.Series(losses, leakage),
                c.hasNonNull("defence") ? c.get("defence") : null);
    }

    /** The auditor's series of training passes (evaluation passes, when audited, are never in the headline). */
    private static List<JsonNode> training(JsonNode audit) {
        List<JsonNode> out = new ArrayList<>();
        audit.path("series").forEach(s -> {
            if (s.path("pass").asText().startsWith("train")) {
                out.add(s);
            }
        });
        return out;
    }

    /**
     * Per attack its most exposed scored training step; the headline is the maximum of those (step 0 included),
     * with the chance floor and coverage the client measured at that step.
     */
    static RunReport.Privacy privacy(JsonNode audit) {
        Map<String, RunReport.AttackScore> attacks = new LinkedHashMap<>();
        JsonNode best = null;
        String bestAttack = null;
        java.util.Set<Long> steps = new java.util.HashSet<>();
        for (JsonNode series : audit == null ? List.<JsonNode>of() : training(audit)) {
            String attack = series.path("attack").asText();
            JsonNode top = null;
            int scored = 0;
            String note = null;
            for (JsonNode p : series.path("points")) {
                if (p.hasNonNull("rougeL")) {
                    scored++;
                    steps.add(p.path("step").asLong());
                    if (top == null || p.path("rougeL").asDouble() > top.path("rougeL").asDouble()) {
                        top = p;
                    }
                } else if (p.hasNonNull("detail")) {
                    note = p.path("detail").asText();
                }
            }
            attacks.put(attack, new RunReport.AttackScore(top == null ? Double.NaN : top.path("rougeL").asDouble(),
                    top == null ? Double.NaN : top.path("tokenSetF1").asDouble(), number(top, "floorRougeL"), scored,
                    note));
            if (top != null && (best == null || top.path("rougeL").asDouble() > best.path("rougeL").asDouble())) {
                best = top;
                bestAttack = attack;
            }
        }
        return new RunReport.Privacy(attacks, number(best, "rougeL"), steps.size(), number(best, "floorRougeL"),
                bestAttack, best == null ? null : best.path("step").asLong(), number(best, "coverage"));
    }

    private static Double number(JsonNode point, String field) {
        return point == null || !point.hasNonNull(field) ? null : point.path(field).asDouble();
    }
}
