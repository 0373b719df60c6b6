package io.guardedtuning.deploy.k8s;

import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

@Command(name = "session", mixinStandardHelpOptions = true, description = "Tuning sessions.",
        subcommands = K8sSessionCommand.Start.class)
final class K8sSessionCommand implements Runnable {

    @ParentCommand
    K8sCommand parent;

    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    @Command(name = "start", mixinStandardHelpOptions = true,
            description = "Create the session's down topic, Kafka user (own prefix only), HMAC key Secret and "
                    + "client-compute Job; Offline sessions also get an emulator-distillation Job.")
    static final class Start implements Callable<Integer> {

        @ParentCommand
        K8sSessionCommand session;

        @Spec
        CommandSpec spec;

        @Mixin
        ClusterOptions cluster;

        @Option(names = "--session", required = true, description = "Session id (GT_SESSION_ID).")
        String sessionId;

        @Option(names = "--design", required = true, converter = DesignConverter.class, description = "online, gradfree or offline (GT_DESIGN).")
        Design design;

        @Option(names = "--k", required = true, description = "Split point: client-side layers (GT_SPLIT_K).")
        int splitK;

        @Option(names = "--alpha", defaultValue = "0.0", description = "GT_ALPHA (default: ${DEFAULT-VALUE}).")
        double alpha;

        @Option(names = "--bits-up", defaultValue = "32",
                description = "Quantisation bits towards the server, GT_BITS_UP (default: ${DEFAULT-VALUE}).")
        int bitsUp;

        @Option(names = "--bits-down", defaultValue = "32",
                description = "Quantisation bits towards the client, GT_BITS_DOWN (default: ${DEFAULT-VALUE}).")
        int bitsDown;

        @Option(names = "--task", defaultValue = "imdb-sentiment",
                description = "The private task, GT_TASK: imdb-sentiment or spam-assassin (npm packs cached on the "
                        + "gt-data claim), or a file task such as arc:/data/tasks/test.jsonl,/data/tasks/train.jsonl "
                        + "(default: ${DEFAULT-VALUE}).")
        String task;

        @Option(names = "--train-size", defaultValue = "2000",
                description = "Training examples, GT_TRAIN_SIZE (default: ${DEFAULT-VALUE}).")
        int trainSize;

        @Option(names = "--eval-size", defaultValue = "500",
                description = "Evaluation examples, GT_EVAL_SIZE (default: ${DEFAULT-VALUE}).")
        int evalSize;

        @Override
        public Integer call() {
            return session.parent.withOperator(cluster, spec.commandLine().getOut(), spec.commandLine().getErr(),
                    (operator, out) -> {
                        SessionSpec sessionSpec = new SessionSpec(sessionId, design, splitK, alpha, bitsUp, bitsDown,
                                new SessionTask(task, trainSize, evalSize));
                        operator.startSession(sessionSpec).forEach(done -> out.println("applied " + done));
                        out.println("session " + sessionId + " started (" + sessionSpec.summary() + ")");
                    });
        }
    }

    static final class DesignConverter implements CommandLine.ITypeConverter<Design> {
        @Override
        public Design convert(String value) {
            for (Design candidate : Design.values()) {
                if (candidate.envValue().equals(value)) {
                    return candidate;
                }
            }
            throw new CommandLine.TypeConversionException("design must be online, gradfree or offline, got '"
                    + value + "'");
        }
    }
}
