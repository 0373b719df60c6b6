package io.guardedtuning.deploy.k8s;

import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

/** Finds the CustomResourceDefinitions the stack relies on (Strimzi, KEDA) and says which operator is missing. */
public final class CustomResourceKinds {

    private static final Map<String, String> OPERATOR_BY_GROUP = Map.of(
            "kafka.strimzi.io", "the Strimzi operator",
            "keda.sh", "KEDA");

    private final List<CustomResourceDefinition> installed;

    private CustomResourceKinds(List<CustomResourceDefinition> installed) {
        this.installed = installed;
    }

    /** Reads the cluster's CRDs once. */
    public static CustomResourceKinds of(KubernetesClient client) {
        return new CustomResourceKinds(client.apiextensions().v1().customResourceDefinitions().list().getItems());
    }

    /** Where resources of this kind live, or empty when no CRD serves it. */
    public Optional<ResourceDefinitionContext> find(ResourceKind kind) {
        return installed.stream()
                .filter(crd -> crd.getSpec().getGroup().equals(kind.group())
                        && crd.getSpec().getNames().getKind().equals(kind.kind()))
                .filter(crd -> crd.getSpec().getVersions().stream()
                        .anyMatch(v -> v.getName().equals(kind.version()) && !Boolean.FALSE.equals(v.getServed())))
                .findFirst()
                .map(crd -> new ResourceDefinitionContext.Builder()
                        .withGroup(kind.group())
                        .withVersion(kind.version())
                        .withKind(kind.kind())
                        .withPlural(crd.getSpec().getNames().getPlural())
                        .withNamespaced("Namespaced".equals(crd.getSpec().getScope()))
                        .build());
    }

    public ResourceDefinitionContext require(ResourceKind kind) {
        return find(kind).orElseThrow(() -> missing(List.of(kind)));
    }

    /** Fails naming every kind that no installed CRD serves, before anything is applied. */
    public void requireAll(Collection<ResourceKind> kinds) {
        List<ResourceKind> absent = kinds.stream().distinct().filter(kind -> find(kind).isEmpty()).toList();
        if (!absent.isEmpty()) {
            throw missing(absent);
        }
    }

    private static K8sOperationException missing(List<ResourceKind> absent) {
        String crds = absent.stream().map(ResourceKind::expectedCrdName).collect(Collectors.joining(", "));
        String kinds = absent.stream().map(ResourceKind::toString).collect(Collectors.joining(", "));
        String operators = absent.stream()
                .map(kind -> OPERATOR_BY_GROUP.getOrDefault(kind.group(), "the operator that defines " + kind))
                .distinct()
                .sorted()
                .collect(Collectors.joining(" and "));
        return new K8sOperationException("the cluster has no CustomResourceDefinition " + crds + " (for " + kinds
                + "): install " + operators + " first (docs/deploy.md, step 1)");
    }
}
