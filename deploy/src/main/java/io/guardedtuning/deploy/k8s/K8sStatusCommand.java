package io.guardedtuning.deploy.k8s;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

@Command(name = "status", mixinStandardHelpOptions = true,
        description = "Show deployments, pods, sessions and (with --kafka-bootstrap) consumer lag.")
final class K8sStatusCommand implements Callable<Integer> {

    @ParentCommand
    K8sCommand parent;

    @Spec
    CommandSpec spec;

    @Mixin
    ClusterOptions cluster;

    @Option(names = "--kafka-bootstrap", description = "Kafka admin endpoint HOST:PORT for consumer lag, e.g. "
            + "a port-forward to gt-kafka-bootstrap.")
    String kafkaBootstrap;

    @Option(names = "--kafka-config", description = "Properties file with the admin client's security settings "
            + "(security.protocol, sasl.mechanism, sasl.jaas.config, ssl.truststore.*).")
    Path kafkaConfig;

    @Override
    public Integer call() {
        return parent.withOperator(cluster, spec.commandLine().getOut(), spec.commandLine().getErr(),
                (operator, out) -> {
                    if (kafkaBootstrap == null) {
                        out.print(operator.status(Optional.empty()).render());
                        return;
                    }
                    try (KafkaAdminLagSource lag = new KafkaAdminLagSource(kafkaBootstrap, kafkaSettings())) {
                        out.print(operator.status(Optional.of(lag)).render());
                    }
                });
    }

    private Properties kafkaSettings() {
        Properties settings = new Properties();
        if (kafkaConfig != null) {
            try (Reader reader = Files.newBufferedReader(kafkaConfig)) {
                settings.load(reader);
            } catch (IOException unreadable) {
                throw new K8sOperationException("cannot read --kafka-config " + kafkaConfig + ": "
                        + unreadable.getMessage(), unreadable);
            }
        }
        return settings;
    }
}
