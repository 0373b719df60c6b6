package io.guardedtuning.deploy.k8s;

import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

@Command(name = "scale", mixinStandardHelpOptions = true,
        description = "Pin a component's replicas (pausing KEDA) or hand it back to KEDA autoscaling.")
final class K8sScaleCommand implements Callable<Integer> {

    @ParentCommand
    K8sCommand parent;

    @Spec
    CommandSpec spec;

    @Mixin
    ClusterOptions cluster;

    @Option(names = "--component", required = true, description = "server-compute or attack-audit.")
    String component;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Target target;

    static final class Target {
        @Option(names = "--replicas", description = "Run exactly this many replicas.")
        Integer replicas;

        @Option(names = "--autoscale", description = "Let KEDA scale on consumer lag again.")
        boolean autoscale;
    }

    @Override
    public Integer call() {
        return parent.withOperator(cluster, spec.commandLine().getOut(), spec.commandLine().getErr(),
                (operator, out) -> {
                    Component chosen = Component.fromResourceName(component);
                    out.println(target.autoscale ? operator.resumeAutoscaling(chosen)
                            : operator.scale(chosen, target.replicas));
                });
    }
}
