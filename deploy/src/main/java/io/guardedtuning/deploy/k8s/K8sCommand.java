package io.guardedtuning.deploy.k8s;

import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.io.PrintWriter;
import java.util.function.Function;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** `gt k8s`: deploy the stack on Kubernetes, run sessions, scale, watch and tear down. */
@Command(name = "k8s", mixinStandardHelpOptions = true,
        description = "Run GuardedTuning on Kubernetes (needs the Strimzi and KEDA operators; see docs/deploy.md).",
        subcommands = {K8sDeployCommand.class, K8sSessionCommand.class, K8sScaleCommand.class, K8sStatusCommand.class,
                K8sTeardownCommand.class})
public final class K8sCommand implements Runnable {

    /** Exit code of an operation that failed with an explained error. */
    static final int FAILED = 1;

    private static final int CONNECT_TIMEOUT_MILLIS = 10_000;
    private static final int REQUEST_RETRIES = 1;

    private final Function<ClusterOptions, KubernetesClient> connector;

    @Spec
    CommandSpec spec;

    /** Connects through the current kubeconfig context (or --server). */
    public K8sCommand() {
        this(K8sCommand::connect);
    }

    /** Connects through {@code connector}; tests pass a mock API server's client. */
    public K8sCommand(Function<ClusterOptions, KubernetesClient> connector) {
        this.connector = connector;
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** Runs {@code operation} against the cluster; an explained failure is printed and gives exit code 1. */
    int withOperator(ClusterOptions options, PrintWriter out, PrintWriter err, OperatorAction action) {
        try (KubernetesClient client = connector.apply(options)) {
            action.run(new ClusterOperator(client, options.namespace()), out);
            out.flush();
            return 0;
        } catch (K8sOperationException | IllegalArgumentException failure) {
            err.println("gt k8s: " + failure.getMessage());
            err.flush();
            return FAILED;
        }
    }

    @FunctionalInterface
    interface OperatorAction {
        void run(ClusterOperator operator, PrintWriter out);
    }

    private static KubernetesClient connect(ClusterOptions options) {
        ConfigBuilder config = new ConfigBuilder(Config.autoConfigure(null))
                .withConnectionTimeout(CONNECT_TIMEOUT_MILLIS)
                .withRequestRetryBackoffLimit(REQUEST_RETRIES);
        if (options.server() != null) {
            config.withMasterUrl(options.server());
        }
        return new KubernetesClientBuilder().withConfig(config.build()).build();
    }
}
