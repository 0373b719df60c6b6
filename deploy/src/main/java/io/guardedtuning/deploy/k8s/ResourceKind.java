package io.guardedtuning.deploy.k8s;

import io.fabric8.kubernetes.api.model.HasMetadata;
import java.util.Locale;

/** An apiVersion and kind, e.g. kafka.strimzi.io/v1beta2 KafkaTopic. */
public record ResourceKind(String apiVersion, String kind) {

    public static final ResourceKind KAFKA = strimzi("Kafka");
    public static final ResourceKind KAFKA_NODE_POOL = strimzi("KafkaNodePool");
    public static final ResourceKind KAFKA_TOPIC = strimzi("KafkaTopic");
    public static final ResourceKind KAFKA_USER = strimzi("KafkaUser");
    public static final ResourceKind SCALED_OBJECT = new ResourceKind("keda.sh/v1alpha1", "ScaledObject");
    public static final ResourceKind TRIGGER_AUTHENTICATION = new ResourceKind("keda.sh/v1alpha1",
            "TriggerAuthentication");

    public static ResourceKind of(HasMetadata resource) {
        return new ResourceKind(resource.getApiVersion(), resource.getKind());
    }

    private static ResourceKind strimzi(String kind) {
        return new ResourceKind("kafka.strimzi.io/v1beta2", kind);
    }

    public String group() {
        int slash = apiVersion.indexOf('/');
        return slash < 0 ? "" : apiVersion.substring(0, slash);
    }

    public String version() {
        return apiVersion.substring(apiVersion.indexOf('/') + 1);
    }

    /** The conventional CRD name: lower-case plural of the kind, a dot, the group. */
    public String expectedCrdName() {
        return kind.toLowerCase(Locale.ROOT) + "s." + group();
    }

    @Override
    public String toString() {
        return apiVersion + " " + kind;
    }
}
