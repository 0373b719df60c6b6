package io.guardedtuning.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.guardedtuning.deploy.local.LocalRun;
import io.guardedtuning.deploy.local.LocalStack;
import io.guardedtuning.deploy.local.Machine;
import io.guardedtuning.deploy.local.RunReport;
import io.guardedtuning.deploy.local.RunSpec;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

/** One complete local session: broker, services as processes, training, audit, report. */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = {"Run one GuardedTuning session locally: an embedded Kafka broker and server-compute, "
                + "attack-audit and client-compute as separate processes (Offline: emulator-distillation and "
                + "client-compute); writes summary.json and report.html.",
                "Everything started is stopped at the end, on failure and on Ctrl-C."})
public final class RunCommand implements Callable<Integer> {

    @Mixin
    ProviderOptions provider;

    @Mixin
    SessionOptions session;

    @Option(names = "--id", description = "Run id (default: derived from the settings).")
    String id;

    @Option(names = "--out", defaultValue = "runs", description = "Directory for run results (default: ${DEFAULT-VALUE}).")
    Path out;

    @Option(names = "--json", description = "Print the summary JSON to stdout instead of a text summary.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        RunSpec spec = session.spec(id);
        Path home = GtCommand.home();
        Path runDir = out.resolve(spec.id());
        RunReport r;
        try (LocalStack stack = new LocalStack(home, runDir.resolve("stack"), spec.auditEvery())) {
            provider.apply(stack);
            r = LocalRun.run(stack, spec, runDir, Machine.codeVersion(home));
        }
        print(r, runDir, json);
        return r.run().status().startsWith("done") ? 0 : 1;
    }

    static void print(RunReport r, Path runDir, boolean json) throws Exception {
        if (json) {
            System.out.println(new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(r));
            return;
        }
        System.out.printf(Locale.ROOT, "%s: %s%n  accuracy %.3f -> %.3f%s%n  leakage %s%n"
                        + "  bytes per step up %.0f, down %.0f; client compute %.1f s; wall %.0f s%n"
                        + "  summary %s%n  report  %s%n", r.run().id(), r.run().status(),
                r.utility().accuracyBefore(), r.utility().accuracyAfter(),
                r.utility().centralizedAccuracyAfter() == null ? "" : String.format(Locale.ROOT,
                        " (centralized %.3f, delta %+.3f)", r.utility().centralizedAccuracyAfter(),
                        r.utility().deltaToCentralized()),
                r.privacy().bestRougeL() != null ? leakage(r.privacy())
                        : r.offline() != null ? String.format(Locale.ROOT, "n/a (nothing crosses per step; emulator "
                        + "gap %+.3f)", r.offline().gap()) : "n/a",
                r.cost().bytesUpPerStep(), r.cost().bytesDownPerStep(), r.cost().clientComputeMillis() / 1000.0,
                r.run().wallSeconds(), LocalRun.summaryPath(runDir), runDir.resolve("report.html"));
        com.fasterxml.jackson.databind.JsonNode budget = r.defence() == null ? null : r.defence().path("leakageBudget");
        if (budget != null && !budget.isMissingNode()) {
            System.out.printf(Locale.ROOT, "  leakage budget %.3f (client's own SIP + BiSR(f)): %d batches "
                            + "checked, largest sent %.3f, %d moves, final noise σ %.4g%s%n", budget.path("budget").asDouble(),
                    budget.path("batchesChecked").asInt(), budget.path("maxLeakageSent").asDouble(),
                    budget.path("moves").size(), budget.path("finalNoiseStd").asDouble(),
                    budget.hasNonNull("stopped") ? "; stopped: " + budget.path("stopped").asText() : "");
            budget.path("moves").forEach(m -> System.out.printf(Locale.ROOT, "    move at pass %d step %d (%s): σ %.4g "
                            + "-> %.4g, leakage %.3f -> %s%n", m.path("pass").asLong(), m.path("step").asLong(),
                    m.path("cause").asText("check"), m.path("fromNoiseStd").asDouble(),
                    m.path("toNoiseStd").asDouble(), m.path("leakageBefore").asDouble(),
                    m.hasNonNull("leakageAfter") ? String.format(Locale.ROOT, "%.3f", m.path("leakageAfter")
                            .asDouble()) : "not re-measured"));
        }
    }

    /**
     * The headline: the strongest attack's ROUGE-L F1 on the most exposed scored training step, beside its chance
     * floor (the same metric between the reconstruction and unrelated rows of the task).
     */
    static String leakage(RunReport.Privacy p) {
        return String.format(Locale.ROOT, "ROUGE-L F1 %.3f (%s at training step %d, max over %d scored training "
                        + "steps; chance floor %s%s)", p.bestRougeL(), p.bestAttack(), p.bestStep(), p.auditedSteps(),
                p.floorRougeL() == null ? "n/a" : String.format(Locale.ROOT, "%.3f", p.floorRougeL()),
                p.coverage() == null ? "" : String.format(Locale.ROOT, "; %.0f%% of the step's token ids in the "
                        + "attacker's public text", 100 * p.coverage()));
    }
}
