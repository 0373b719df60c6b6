package io.guardedtuning.deploy.k8s;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.KubernetesList;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.nio.file.Files;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Renders each overlay with `kubectl kustomize` (skipped without kubectl) and checks what the overlays change. */
class RenderedOverlaysTest {

    private static final String GPU = "nvidia.com/gpu";
    private static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();

    @ParameterizedTest
    @EnumSource(Overlay.class)
    void theShippedRenderingMatchesTheOverlay(Overlay overlay) throws Exception {
        String rendered = render(overlay);

        assertEquals(Files.readString(RepositoryFiles.K8S.resolve("rendered/" + overlay.cliName() + ".yaml")),
                rendered, "k8s/rendered/" + overlay.cliName() + ".yaml is stale: run k8s/render.sh");
    }

    @Test
    void gpuOverlayRequestsGpusOnGpuNodes() throws Exception {
        List<HasMetadata> resources = parse(render(Overlay.GPU));

        List<Deployment> deployments = deployments(resources);
        assertEquals(2, deployments.size());
        for (Deployment deployment : deployments) {
            PodSpec pod = deployment.getSpec().getTemplate().getSpec();
            String name = deployment.getMetadata().getName();
            assertEquals("1", pod.getContainers().get(0).getResources().getLimits().get(GPU).toString(), name);
            assertEquals("true", pod.getNodeSelector().get("nvidia.com/gpu.present"), name);
            assertTrue(pod.getTolerations().stream().anyMatch(toleration -> GPU.equals(toleration.getKey())
                    && "NoSchedule".equals(toleration.getEffect())), name);
            assertTrue(pod.getContainers().get(0).getImage().endsWith(":0.1.0-gpu"), name);
        }
        String templates = sessionTemplates(resources).getData().get(SessionTemplates.CLIENT_JOB);
        assertTrue(templates.contains(GPU + ": \"1\"") && templates.contains(":0.1.0-gpu"), templates);
    }

    @Test
    void devOverlayHasNoGpus() throws Exception {
        List<HasMetadata> resources = parse(render(Overlay.DEV));

        for (Deployment deployment : deployments(resources)) {
            PodSpec pod = deployment.getSpec().getTemplate().getSpec();
            assertFalse(pod.getContainers().get(0).getResources().getLimits().containsKey(GPU));
            assertTrue(pod.getTolerations() == null || pod.getTolerations().isEmpty());
            assertTrue(pod.getContainers().get(0).getImage().endsWith(":0.1.0"));
            assertEquals(1, deployment.getSpec().getReplicas());
        }
        sessionTemplates(resources).getData().values()
                .forEach(template -> assertFalse(template.contains(GPU), template));
    }

    private static String render(Overlay overlay) throws Exception {
        assumeTrue(RepositoryFiles.onPath("kubectl"), "kubectl is not on the PATH");
        RepositoryFiles.CommandResult result = RepositoryFiles.run(List.of("kubectl", "kustomize",
                "k8s/overlays/" + overlay.cliName()));
        assertEquals(0, result.exitCode(), result.output());
        return result.output();
    }

    private static List<HasMetadata> parse(String yaml) {
        Object parsed = SERIALIZATION.unmarshal(yaml);
        return parsed instanceof KubernetesList list ? list.getItems() : castList(parsed);
    }

    @SuppressWarnings("unchecked")
    private static List<HasMetadata> castList(Object parsed) {
        return (List<HasMetadata>) parsed;
    }

    private static List<Deployment> deployments(List<HasMetadata> resources) {
        return resources.stream().filter(Deployment.class::isInstance).map(Deployment.class::cast).toList();
    }

    private static ConfigMap sessionTemplates(List<HasMetadata> resources) {
        return resources.stream().filter(ConfigMap.class::isInstance).map(ConfigMap.class::cast)
                .filter(map -> SessionTemplates.CONFIG_MAP.equals(map.getMetadata().getName()))
                .findFirst().orElseThrow();
    }
}
