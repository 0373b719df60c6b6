package io.guardedtuning.deploy.k8s;

import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

@Command(name = "teardown", mixinStandardHelpOptions = true,
        description = "Remove one session, or the whole stack (the models claim and the namespace stay).")
final class K8sTeardownCommand implements Callable<Integer> {

    @ParentCommand
    K8sCommand parent;

    @Spec
    CommandSpec spec;

    @Mixin
    ClusterOptions cluster;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Scope scope;

    static final class Scope {
        @Option(names = "--session", description = "Remove this session's Jobs, Kafka user, topic and key.")
        String sessionId;

        @Option(names = "--all", description = "Remove everything labelled app.kubernetes.io/part-of=guardedtuning.")
        boolean all;
    }

    @Override
    public Integer call() {
        return parent.withOperator(cluster, spec.commandLine().getOut(), spec.commandLine().getErr(),
                (operator, out) -> {
                    List<String> deleted = scope.all ? operator.teardownAll()
                            : operator.teardownSession(scope.sessionId);
                    deleted.forEach(name -> out.println("deleted " + name));
                    out.println(deleted.isEmpty() ? "nothing to delete" : "deleted " + deleted.size() + " resources");
                });
    }
}
