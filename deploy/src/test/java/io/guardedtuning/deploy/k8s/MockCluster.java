package io.guardedtuning.deploy.k8s;

import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinitionBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.util.List;
import java.util.Locale;

/** Installs the CRDs of the Strimzi and KEDA operators into a mock API server, as the real operators would. */
final class MockCluster {

    static final List<ResourceKind> OPERATOR_KINDS = List.of(ResourceKind.KAFKA, ResourceKind.KAFKA_NODE_POOL,
            ResourceKind.KAFKA_TOPIC, ResourceKind.KAFKA_USER, ResourceKind.SCALED_OBJECT,
            ResourceKind.TRIGGER_AUTHENTICATION);

    private MockCluster() {
    }

    static void installOperatorCrds(KubernetesClient client) {
        for (ResourceKind kind : OPERATOR_KINDS) {
            var crd = client.apiextensions().v1().customResourceDefinitions().withName(kind.expectedCrdName());
            if (crd.get() == null) {
                crd.create(crdFor(kind));
            }
        }
    }

    static void removeCrd(KubernetesClient client, ResourceKind kind) {
        client.apiextensions().v1().customResourceDefinitions().withName(kind.expectedCrdName()).delete();
    }

    static CustomResourceDefinition crdFor(ResourceKind kind) {
        String plural = kind.kind().toLowerCase(Locale.ROOT) + "s";
        return new CustomResourceDefinitionBuilder()
                .withNewMetadata().withName(kind.expectedCrdName()).endMetadata()
                .withNewSpec()
                .withGroup(kind.group())
                .withScope("Namespaced")
                .withNewNames()
                .withKind(kind.kind())
                .withPlural(plural)
                .withSingular(kind.kind().toLowerCase(Locale.ROOT))
                .endNames()
                .addNewVersion()
                .withName(kind.version())
                .withServed(true)
                .withStorage(true)
                .withNewSchema()
                .withNewOpenAPIV3Schema()
                .withType("object")
                .withXKubernetesPreserveUnknownFields(true)
                .endOpenAPIV3Schema()
                .endSchema()
                .endVersion()
                .endSpec()
                .build();
    }
}
