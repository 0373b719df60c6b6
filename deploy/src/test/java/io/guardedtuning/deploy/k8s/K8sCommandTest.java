package io.guardedtuning.deploy.k8s;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.guardedtuning.cli.GtCommand;
import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** The `gt k8s` command line end to end against the mock API server. */
@EnableKubernetesMockClient(crud = true)
class K8sCommandTest {

    static KubernetesClient client;

    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    @BeforeEach
    void installOperators() {
        MockCluster.installOperatorCrds(client);
    }

    @Test
    void deployStartScaleStatusTeardown() {
        assertEquals(0, gtK8s("deploy", "--namespace", "cli", "--overlay", "gpu"), err::toString);
        assertEquals(0, gtK8s("session", "start", "-n", "cli", "--session", "s1", "--design", "gradfree",
                "--k", "2", "--alpha", "0.25", "--bits-up", "8", "--bits-down", "16", "--task", "spam-assassin",
                "--train-size", "400"), err::toString);
        assertEquals(0, gtK8s("scale", "-n", "cli", "--component", "server-compute", "--replicas", "4"),
                err::toString);
        assertEquals(0, gtK8s("status", "-n", "cli"), err::toString);
        assertTrue(out.toString().contains("session s1 started (design=gradfree,k=2,alpha=0.25,bits-up=8,"
                + "bits-down=16,task=spam-assassin,train-size=400,eval-size=500)"), out::toString);
        assertTrue(out.toString().contains("KEDA paused at 4"), out::toString);
        assertTrue(out.toString().contains("consumer lag: unavailable"), out::toString);

        assertEquals(0, gtK8s("teardown", "-n", "cli", "--all"), err::toString);
        assertEquals(0, gtK8s("teardown", "-n", "cli", "--all"), err::toString);
        assertTrue(out.toString().endsWith("nothing to delete\n"), out::toString);
    }

    @Test
    void operatorErrorsGoToStandardErrorWithExitCodeOne() {
        assertEquals(1, gtK8s("scale", "-n", "empty", "--component", "client-compute", "--replicas", "2"));
        assertTrue(err.toString().contains("unknown component 'client-compute'"), err::toString);
    }

    @Test
    void anUnknownTaskIsNamedBeforeAnythingIsCreated() {
        assertEquals(0, gtK8s("deploy", "--namespace", "cli-task", "--overlay", "dev"), err::toString);

        assertEquals(1, gtK8s("session", "start", "-n", "cli-task", "--session", "s2", "--design", "online",
                "--k", "2", "--task", "wiki:/data/wiki.jsonl"));

        assertTrue(err.toString().contains("unknown task 'wiki:/data/wiki.jsonl'; known tasks: imdb-sentiment, "
                + "spam-assassin, piqa:<file.jsonl>"), err::toString);
        assertTrue(client.batch().v1().jobs().inNamespace("cli-task").list().getItems().isEmpty());
    }

    @Test
    void anUnreachableClusterIsNamed() {
        int exitCode = new CommandLine(new K8sCommand(options -> Unreachable.client()))
                .setOut(new PrintWriter(out)).setErr(new PrintWriter(err))
                .execute("status");

        assertEquals(1, exitCode);
        assertTrue(err.toString().contains("cannot reach the Kubernetes API server at " + Unreachable.URL),
                err::toString);
    }

    @Test
    void gtListsTheK8sCommand() {
        new CommandLine(new GtCommand()).setOut(new PrintWriter(out)).execute("--help");

        assertTrue(out.toString().contains("k8s"), out::toString);
    }

    /** Runs `gt k8s ...`; each run gets its own client (the command closes it) on the shared mock server. */
    private int gtK8s(String... args) {
        return new CommandLine(new K8sCommand(options -> new KubernetesClientBuilder()
                        .withConfig(client.getConfiguration()).build()))
                .setOut(new PrintWriter(out)).setErr(new PrintWriter(err))
                .execute(args);
    }
}
