package io.guardedtuning.deploy.k8s;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

@Command(name = "deploy", mixinStandardHelpOptions = true,
        description = "Apply the stack (Kafka, topics, users, services, autoscaling, policies) to a namespace.")
final class K8sDeployCommand implements Callable<Integer> {

    @ParentCommand
    K8sCommand parent;

    @Spec
    CommandSpec spec;

    @Mixin
    ClusterOptions cluster;

    @Option(names = "--overlay", defaultValue = "dev", converter = OverlayConverter.class,
            description = "dev or gpu (default: ${DEFAULT-VALUE}).")
    Overlay overlay;

    @Override
    public Integer call() {
        return parent.withOperator(cluster, spec.commandLine().getOut(), spec.commandLine().getErr(),
                (operator, out) -> {
                    operator.deploy(overlay).forEach(applied -> out.println("applied " + applied));
                    out.println("deployed overlay " + overlay.cliName() + " to namespace " + cluster.namespace());
                });
    }

    static final class OverlayConverter implements picocli.CommandLine.ITypeConverter<Overlay> {
        @Override
        public Overlay convert(String value) {
            for (Overlay candidate : Overlay.values()) {
                if (candidate.cliName().equals(value)) {
                    return candidate;
                }
            }
            throw new picocli.CommandLine.TypeConversionException("overlay must be dev or gpu, got '" + value + "'");
        }
    }
}
