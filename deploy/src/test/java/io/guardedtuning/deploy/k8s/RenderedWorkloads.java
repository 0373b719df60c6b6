package io.guardedtuning.deploy.k8s;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.KubernetesList;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The workloads of a rendered overlay as the cluster would run them: the Deployments and the session Jobs rendered
 * from the overlay's templates (for a sample Offline session, so that every Job kind appears). For contract tests.
 */
public final class RenderedWorkloads {

    private static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();

    private RenderedWorkloads() {
    }

    /** "Kind/name" → the workload's pod spec. */
    public static Map<String, PodSpec> pods(Overlay overlay) {
        Map<String, PodSpec> pods = new LinkedHashMap<>();
        for (HasMetadata resource : resources(overlay)) {
            if (resource instanceof Deployment deployment) {
                pods.put("Deployment/" + deployment.getMetadata().getName(),
                        deployment.getSpec().getTemplate().getSpec());
            }
        }
        ConfigMap templates = configMaps(overlay).get(SessionTemplates.CONFIG_MAP);
        for (HasMetadata resource : new SessionTemplates(templates, SERIALIZATION)
                .render(new SessionSpec("Zed-9", Design.OFFLINE, 3, 1.5, 4, 8,
                        new SessionTask("arc:/data/tasks/test.jsonl,/data/tasks/train.jsonl", 100, 50)))) {
            if (resource instanceof Job job) {
                pods.put("Job/" + job.getMetadata().getName(), job.getSpec().getTemplate().getSpec());
            }
        }
        return pods;
    }

    /** The pod spec of the workload whose single container has this name (a service's name). */
    public static PodSpec podOf(Overlay overlay, String container) {
        return pods(overlay).values().stream()
                .filter(pod -> pod.getContainers().get(0).getName().equals(container))
                .findFirst().orElseThrow(() -> new IllegalArgumentException("no workload runs " + container));
    }

    public static Map<String, ConfigMap> configMaps(Overlay overlay) {
        return resources(overlay).stream().filter(ConfigMap.class::isInstance).map(ConfigMap.class::cast)
                .collect(Collectors.toMap(map -> map.getMetadata().getName(), map -> map));
    }

    private static List<HasMetadata> resources(Overlay overlay) {
        try (InputStream text = overlay.openRendered()) {
            Object parsed = SERIALIZATION.unmarshal(text);
            return parsed instanceof KubernetesList list ? list.getItems()
                    : ((List<?>) parsed).stream().map(HasMetadata.class::cast).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
