package io.guardedtuning.deploy.k8s;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Offline schema validation of the built-in kinds with k8s/validate/validate.js (kubernetes-models). Runs when
 * `node` is on the PATH and the validator's packages are installed (`npm ci --prefix k8s/validate`).
 */
class NodeSchemaValidationTest {

    @Test
    void everyBuiltInResourcePassesTheKubernetesSchemas() throws Exception {
        assumeTrue(RepositoryFiles.onPath("node"), "node is not on the PATH");
        assumeTrue(Files.isDirectory(RepositoryFiles.K8S.resolve("validate/node_modules/kubernetes-models")),
                "validator packages missing: run npm ci --prefix k8s/validate");

        RepositoryFiles.CommandResult result = RepositoryFiles.run(List.of("node", "k8s/validate/validate.js",
                "k8s/base", "k8s/overlays", "k8s/rendered"));

        assertEquals(0, result.exitCode(), result.output());
    }
}
