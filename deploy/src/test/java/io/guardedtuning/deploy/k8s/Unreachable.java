package io.guardedtuning.deploy.k8s;

import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;

/** A client for an API server address where nothing listens (port 1 on loopback). */
final class Unreachable {

    static final String URL = "https://127.0.0.1:1/";

    private Unreachable() {
    }

    static KubernetesClient client() {
        return new KubernetesClientBuilder().withConfig(new ConfigBuilder()
                .withMasterUrl(URL)
                .withConnectionTimeout(2_000)
                .withRequestRetryBackoffLimit(0)
                .build()).build();
    }
}
