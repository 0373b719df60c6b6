package io.guardedtuning.cli;

import io.guardedtuning.checkpoint.ModelCatalog;
import io.guardedtuning.deploy.local.LocalRun;
import io.guardedtuning.deploy.local.LocalStack;
import io.guardedtuning.deploy.local.Machine;
import io.guardedtuning.deploy.local.RunReport;
import io.guardedtuning.deploy.local.RunSpec;
import io.guardedtuning.model.TinyOpt;
import io.guardedtuning.split.Design;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * The README's first command: one audited Online session on the bundled model and task, under a leakage budget the
 * client enforces on every batch it sends.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Run the GuardedTuning demo: an Online session (8-bit tensors) of the bundled tiny model on "
                + "the spam-assassin task under a leakage budget, with the attack audit on, and write the report.")
public final class DemoCommand implements Callable<Integer> {

    @Option(names = "--out", defaultValue = "runs", description = "Directory for results (default: ${DEFAULT-VALUE}).")
    Path out;

    @Option(names = "--leakage-budget", defaultValue = "0.5", description = "Largest ROUGE-L F1 the client's own "
            + "attack may get from any batch it sends; 0 runs without a budget (default: ${DEFAULT-VALUE}).")
    double leakageBudget;

    @Override
    public Integer call() throws Exception {
        System.err.println("GuardedTuning demo: one Online session under a leakage budget with the audit on. On 2 "
                + "cores this takes 20-45 minutes (services start ~1 min; the client trains the auditor's attacker "
                + "for each noise level it tries and attacks every batch before sending it; 40 training steps, "
                + "evaluation before and after, audit).");
        String model = TinyOpt.NAME;
        if (!ModelCatalog.hasBundled()) {
            Path dir = io.guardedtuning.data.PackageCache.defaultCacheDir().resolve("models/pretrained-" + TinyOpt.NAME);
            System.err.println("The bundled model is missing: pretraining it into " + dir + " (about 20 minutes).");
            int rc = new CommandLine(new PretrainCommand()).execute("--out", dir.toString());
            if (rc != 0) {
                return rc;
            }
            model = dir.toString();
        }
        RunSpec spec = new RunSpec("demo-online", Design.ONLINE, 2, 0f, 8, 8, 8, 8, 8, 3e-3f, 1, 1, model,
                "spam-assassin", 320, 100, 0, 5, true, 0, 0, new RunSpec.Defence(0f, "none", leakageBudget));
        Path home = GtCommand.home();
        Path runDir = out.resolve(spec.id());
        RunReport r;
        try (LocalStack stack = new LocalStack(home, runDir.resolve("stack"), spec.auditEvery())) {
            r = LocalRun.run(stack, spec, runDir, Machine.codeVersion(home));
        }
        RunCommand.print(r, runDir, false);
        return r.run().status().startsWith("done") ? 0 : 1;
    }
}
