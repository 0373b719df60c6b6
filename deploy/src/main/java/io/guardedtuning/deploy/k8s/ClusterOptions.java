package io.guardedtuning.deploy.k8s;

import picocli.CommandLine.Option;

/** Where `gt k8s` commands act: the namespace, and optionally an API server other than the kubeconfig's. */
public final class ClusterOptions {

    @Option(names = {"-n", "--namespace"}, defaultValue = "guardedtuning",
            description = "Namespace of the stack (default: ${DEFAULT-VALUE}).")
    String namespace;

    @Option(names = "--server", description = "Kubernetes API server URL; default: the current kubeconfig context.")
    String server;

    public String namespace() {
        return namespace;
    }

    public String server() {
        return server;
    }
}
