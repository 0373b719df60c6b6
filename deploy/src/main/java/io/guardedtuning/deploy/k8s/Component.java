package io.guardedtuning.deploy.k8s;

import java.util.Arrays;
import java.util.stream.Collectors;

/** The long-running services: each a Deployment, scaled by a KEDA ScaledObject of the same name. */
public enum Component {
    SERVER_COMPUTE("server-compute"),
    ATTACK_AUDIT("attack-audit");

    private final String resourceName;

    Component(String resourceName) {
        this.resourceName = resourceName;
    }

    /** The Deployment, ScaledObject and Kafka consumer group name. */
    public String resourceName() {
        return resourceName;
    }

    public static Component fromResourceName(String name) {
        return Arrays.stream(values())
                .filter(component -> component.resourceName.equals(name))
                .findFirst()
                .orElseThrow(() -> new K8sOperationException("unknown component '" + name + "': choose one of "
                        + Arrays.stream(values()).map(Component::resourceName).collect(Collectors.joining(", "))
                        + " (client-compute runs one Job per session: use `gt k8s session start`)"));
    }
}
