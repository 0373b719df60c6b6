package io.guardedtuning.deploy.k8s;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvFromSource;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.guardedtuning.data.PackageCache;
import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The contract between the manifests and the services: every GT_* variable and KAFKA_GROUP_ID that a container
 * gets (its own env and the ConfigMaps it takes whole with envFrom) is read by an expression {@code ${NAME...}} in
 * that service's application.properties. A variable nobody reads would be silently ignored in the cluster. The
 * exceptions are a variable the manifest itself consumes as {@code $(NAME)} in another variable of the container,
 * and GT_CACHE_DIR, which core's PackageCache reads from the environment itself.
 * KAFKA_GROUP_ID is listed because MicroProfile's rule (KAFKA_GROUP_ID → kafka.group.id) loses to a channel's own
 * {@code group.id}; the other KAFKA_* variables are global Kafka settings that every channel inherits.
 */
class ServiceEnvContractTest {

    private static final Path SERVICES = RepositoryFiles.K8S.getParent().resolve("services");
    /** Read from the environment by core itself, whichever service runs it. */
    private static final Set<String> READ_BY_CORE = Set.of(PackageCache.CACHE_DIR_ENV);
    private static final Pattern MANIFEST_REFERENCE = Pattern.compile("\\$\\(([A-Z0-9_]+)\\)");

    @ParameterizedTest
    @EnumSource(Overlay.class)
    void everyServiceVariableAManifestSetsIsRead(Overlay overlay) throws IOException {
        List<String> unread = new ArrayList<>();
        Map<String, Container> containers = containers(overlay);
        for (Map.Entry<String, Container> entry : containers.entrySet()) {
            Container container = entry.getValue();
            String properties = readExpressions(container.getName());
            for (String variable : contractVariables(container, configMaps(overlay))) {
                if (!Pattern.compile("\\$\\{" + variable + "[:}]").matcher(properties).find()) {
                    unread.add(entry.getKey() + " sets " + variable + ", which services/" + container.getName()
                            + "/src/main/resources/application.properties never reads");
                }
            }
        }

        assertEquals(Set.of("attack-audit", "client-compute", "emulator-distillation", "server-compute"),
                containers.values().stream().map(Container::getName).collect(Collectors.toSet()));
        assertTrue(unread.isEmpty(), String.join("\n", unread));
    }

    /** The check itself would pass vacuously if it found no variables; it must see the session's settings. */
    @Test
    void theClientJobHandsTheSessionSettingsToTheService() throws IOException {
        Container client = containers(Overlay.DEV).get("Job/" + new SessionNames("Zed-9").clientJob());

        Set<String> variables = contractVariables(client, configMaps(Overlay.DEV));

        assertTrue(variables.containsAll(Set.of("GT_SESSION_ID", "GT_SESSION_KEY", "GT_DESIGN", "GT_SPLIT_K",
                "GT_ALPHA", "GT_BITS_UP", "GT_BITS_DOWN", "GT_MODEL_DIR", "GT_PROVIDER_PUBLIC_KEY", "GT_TASK",
                "GT_TRAIN_SIZE", "GT_EVAL_SIZE")),
                variables::toString);
        assertFalse(variables.contains("GT_CPU_LIMIT"), "consumed by JAVA_OPTS_APPEND, not by the service");
        assertTrue(client.getEnv().stream().anyMatch(variable -> variable.getName().equals(
                PackageCache.CACHE_DIR_ENV)), "the client reads its npm packs from the gt-data claim");
    }

    /** Those that derive session keys get the provider's master secret from the Secret the operator manages. */
    @ParameterizedTest
    @EnumSource(Overlay.class)
    void theMasterSecretReachesTheServerTheAuditorAndTheEmulator(Overlay overlay) throws IOException {
        Set<String> withMasterKey = containers(overlay).values().stream()
                .filter(container -> container.getEnv().stream().anyMatch(variable ->
                        variable.getName().equals("GT_MASTER_KEY") && variable.getValueFrom() != null
                                && ClusterOperator.MASTER_KEY_SECRET.equals(
                                        variable.getValueFrom().getSecretKeyRef().getName())
                                && ClusterOperator.MASTER_KEY_ENTRY.equals(
                                        variable.getValueFrom().getSecretKeyRef().getKey())))
                .map(Container::getName)
                .collect(Collectors.toSet());

        assertEquals(Set.of("server-compute", "attack-audit", "emulator-distillation"), withMasterKey);
    }

    /** "Kind/name" → the workload's container, for both Deployments and the rendered session Jobs. */
    private static Map<String, Container> containers(Overlay overlay) {
        Map<String, Container> containers = new LinkedHashMap<>();
        RenderedWorkloads.pods(overlay).forEach((workload, pod) -> {
            assertEquals(1, pod.getContainers().size(), workload);
            containers.put(workload, pod.getContainers().get(0));
        });
        return containers;
    }

    private static Set<String> contractVariables(Container container, Map<String, ConfigMap> configMaps) {
        Set<String> names = new TreeSet<>();
        for (EnvFromSource source : container.getEnvFrom()) {
            if (source.getConfigMapRef() != null) {
                names.addAll(configMaps.get(source.getConfigMapRef().getName()).getData().keySet());
            }
        }
        container.getEnv().stream().map(EnvVar::getName).forEach(names::add);
        for (EnvVar variable : container.getEnv()) {
            if (variable.getValue() != null) {
                MANIFEST_REFERENCE.matcher(variable.getValue()).results().forEach(used -> names.remove(used.group(1)));
            }
        }
        names.removeIf(name -> !name.startsWith("GT_") && !name.equals("KAFKA_GROUP_ID"));
        names.removeAll(READ_BY_CORE);
        return names;
    }

    /** The values of the service's properties outside test profiles, where ${...} expressions live. */
    private static String readExpressions(String service) throws IOException {
        Properties properties = new Properties();
        try (Reader reader = Files.newBufferedReader(
                SERVICES.resolve(service).resolve("src/main/resources/application.properties"))) {
            properties.load(reader);
        }
        return properties.stringPropertyNames().stream()
                .filter(key -> !key.startsWith("%"))
                .map(properties::getProperty)
                .collect(Collectors.joining("\n"));
    }

    private static Map<String, ConfigMap> configMaps(Overlay overlay) {
        return RenderedWorkloads.configMaps(overlay);
    }
}
