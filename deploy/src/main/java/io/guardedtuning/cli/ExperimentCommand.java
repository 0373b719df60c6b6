package io.guardedtuning.cli;

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

    @Override
    public Integer call() throws Exception {
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
