package io.guardedtuning.cli;

import io.guardedtuning.deploy.local.Frontier;
import io.guardedtuning.deploy.local.FrontierReport;
import io.guardedtuning.deploy.local.HtmlReport;
import io.guardedtuning.deploy.local.LocalRun;
import io.guardedtuning.deploy.local.LocalStack;
import io.guardedtuning.deploy.local.Machine;
import io.guardedtuning.deploy.local.RunReport;
import io.guardedtuning.deploy.local.RunSpec;
import io.guardedtuning.split.Design;
import io.guardedtuning.storage.AtomicFiles;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;

/** A grid of local sessions on one broker, resumable, with one combined report. */
@Command(name = "experiment", mixinStandardHelpOptions = true,
        description = {"Sweep a grid of sessions (design x alpha x bits x k x task x seed) on one local broker and "
                + "write one combined report (experiment.html, experiment.json).",
                "Cells whose summary.json exists are not run again, so an interrupted sweep resumes."})
public final class ExperimentCommand implements Callable<Integer> {

    @Mixin
    ProviderOptions provider;

    @Mixin
    SessionOptions base;

    @Option(names = "--designs", split = ",", defaultValue = "online,gradfree", description = "Designs to sweep.")
    List<String> designs;

    @Option(names = "--alphas", split = ",", defaultValue = "0,8", description = "dCor weights (Online only).")
    List<Float> alphas;

    @Option(names = "--bits-grid", split = ",", defaultValue = "32,8,4", description = "Activation precisions.")
    List<Integer> bitsGrid;

    @Option(names = "--ks", split = ",", defaultValue = "2", description = "Split points.")
    List<Integer> ks;

    @Option(names = "--tasks", split = ",", description = "Tasks (default: the --task option).")
    List<String> tasks;

    @Option(names = "--seeds", split = ",", description = "Data-order seeds; the report averages over them "
            + "(default: the --seed option).")
    List<Long> seeds;

    @Option(names = "--out", defaultValue = "runs/experiment", description = "Directory (default: ${DEFAULT-VALUE}).")
    Path out;

    @Option(names = "--frontier", description = "Measure the privacy-utility frontier in one process instead "
            + "(frontier.json, frontier.html in --out): --designs x --defences x --lrs x --seeds x --tasks, each "
            + "against centralized tuning of the same layers, leakage from the adaptive SIP on every --audit-every-th "
            + "training step.")
    boolean frontier;

    @Option(names = "--defences", split = ";", defaultValue = "none;noise:0.5;warmup;warmup+noise:0.5",
            description = "Frontier: client defences, ';'-separated: none, or '+'-joined noise:R (σ = R x RMS of the "
                    + "pretrained h_in), warmup[:ALPHA[:PERTURB[:STEPS[:K]]]] (privacy warm-up: dCor "
                    + "weight, scale of the secret start, steps, secret starts the client chooses among by its own "
                    + "rows; default 8, 0.1, --warmup-steps and 1; warmup-kd: kept usable by "
                    + "distillation from the pretrained model, not the LM loss), dcor:A (Online "
                    + "training penalty) (default: ${DEFAULT-VALUE}).")
    List<String> defences;

    @Option(names = "--lrs", split = ",", defaultValue = "3e-3,1e-4", description = "Frontier: learning rates "
            + "(default: ${DEFAULT-VALUE}).")
    List<Float> lrs;

    @Option(names = "--warmup-steps", defaultValue = "200", description = "Frontier: warm-up steps on public text "
            + "(default: ${DEFAULT-VALUE}).")
    int warmupSteps;

    @Option(names = "--sip-steps", defaultValue = "2000", description = "Frontier: the attacker's SIP training steps "
            + "(default: ${DEFAULT-VALUE}).")
    int sipSteps;

    @Option(names = "--public-rows", defaultValue = "1200", description = "Frontier: rows of held-out public text "
            + "(48 tokens) for the warm-up, the noise calibration and the attacker (default: ${DEFAULT-VALUE}).")
    int publicRows;

    @Override
    public Integer call() throws Exception {
        if (frontier) {
            return frontier();
        }
        Path home = GtCommand.home();
        List<RunSpec> grid = grid();
        System.err.println("experiment: " + grid.size() + " cells into " + out);
        List<RunReport> reports = new ArrayList<>();
        int failed = 0;
        try (LocalStack stack = new LocalStack(home, out.resolve("stack"), base.auditEvery)) {
            provider.apply(stack);
            for (RunSpec spec : grid) {
                Path runDir = out.resolve(spec.id());
                Optional<RunReport> done = LocalRun.existing(runDir);
                if (done.isPresent()) {
                    System.err.println("== " + spec.id() + ": already done, kept");
                    reports.add(done.get());
                    continue;
                }
                RunReport r = LocalRun.run(stack, spec, runDir, Machine.codeVersion(home));
                failed += r.run().status().startsWith("done") ? 0 : 1;
                reports.add(r);
                write(reports);
            }
        }
        write(reports);
        System.out.println("experiment report: " + out.resolve("experiment.html") + " (" + reports.size()
                + " runs, " + failed + " failed)");
        return failed == 0 ? 0 : 1;
    }

    private int frontier() throws Exception {
        Frontier.Grid g = new Frontier.Grid(tasks == null ? List.of(base.task) : tasks,
                designs.stream().map(Design::parse).toList(), defences, lrs,
                seeds == null ? List.of(base.seed) : seeds, base.trainSize, base.evalSize, base.epochs, base.batchSize,
                base.bits,
                ks.get(0), base.auditEvery, warmupSteps, publicRows, sipSteps);
        System.err.println("frontier (in-process path): " + g);
        Frontier f = Frontier.load(g, base.model, System.err::println);
        String attackers = f.attackers();
        java.util.Set<String> done = Frontier.measuredBy(attackers, g.seeds().size(),
                mergeFrontier(List.of(), attackers));
        if (!done.isEmpty()) {
            System.err.println("frontier: " + done.size() + " cells already in " + out.resolve("frontier.json")
                    + " measured by these attackers over as many seeds, kept (cells of the grid measured by others "
                    + "or over fewer seeds run again)");
        }
        List<Frontier.Cell> cells = f.run(done, c -> mergeFrontier(c, attackers));
        System.out.println("frontier: " + out.resolve("frontier.json") + ", " + out.resolve("frontier.html") + " ("
                + mergeFrontier(cells, attackers).size() + " cells, " + cells.size() + " new)");
        return 0;
    }

    /**
     * Adds {@code cells} to frontier.json (replacing cells of the same key) and rewrites the report; under a file
     * lock, so sweeps of different tasks can share one output directory; the report greys the cells other
     * {@code attackers} than this sweep's measured. Returns everything now in the file.
     */
    private List<Frontier.Cell> mergeFrontier(List<Frontier.Cell> cells, String attackers) {
        var json = new com.fasterxml.jackson.databind.ObjectMapper();
        Path file = out.resolve("frontier.json");
        try {
            java.nio.file.Files.createDirectories(out);
            try (var lock = java.nio.channels.FileChannel.open(out.resolve("frontier.lock"),
                    java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.WRITE).lock()) {
                java.util.Map<String, Frontier.Cell> all = new java.util.LinkedHashMap<>();
                if (java.nio.file.Files.exists(file)) {
                    for (Frontier.Cell c : json.readValue(file.toFile(), Frontier.Cell[].class)) {
                        all.put(c.key(), c);
                    }
                }
                cells.forEach(c -> all.put(c.key(), c));
                List<Frontier.Cell> merged = new ArrayList<>(all.values());
                AtomicFiles.write(file, json.writerWithDefaultPrettyPrinter().writeValueAsBytes(merged));
                AtomicFiles.write(out.resolve("frontier.html"), FrontierReport.render(merged, attackers)
                        .getBytes(StandardCharsets.UTF_8));
                return merged;
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private void write(List<RunReport> reports) throws Exception {
        AtomicFiles.write(out.resolve("experiment.json"), new com.fasterxml.jackson.databind.ObjectMapper()
                .writerWithDefaultPrettyPrinter().writeValueAsBytes(reports));
        AtomicFiles.write(out.resolve("experiment.html"), HtmlReport.render("GuardedTuning experiment", reports)
                .getBytes(StandardCharsets.UTF_8));
    }

    private List<RunSpec> grid() {
        List<RunSpec> out = new ArrayList<>();
        for (String task : tasks == null ? List.of(base.task) : tasks) {
            for (int k : ks) {
                for (String d : designs) {
                    Design design = Design.parse(d);
                    // Offline sends no activations: one cell, whatever the precisions and weights.
                    for (float alpha : design == Design.ONLINE ? alphas : List.of(0f)) {
                        for (int bits : design == Design.OFFLINE ? List.of(32) : bitsGrid) {
                            for (long seed : seeds == null ? List.of(base.seed) : seeds) {
                                base.design = design.id();
                                base.alpha = alpha;
                                base.bits = bits;
                                base.k = k;
                                base.task = task;
                                base.seed = seed;
                                out.add(base.spec(null));
                            }
                        }
                    }
                }
            }
        }
        return out;
    }
}
