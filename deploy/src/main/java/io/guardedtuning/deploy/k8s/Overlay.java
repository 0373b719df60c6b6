package io.guardedtuning.deploy.k8s;

import java.io.InputStream;
import java.util.Locale;

/**
 * A Kustomize overlay of k8s/. The tool applies the overlay as rendered by {@code kubectl kustomize} into
 * k8s/rendered/ (shipped on the classpath under k8s/), so neither kubectl nor kustomize is needed where it runs.
 */
public enum Overlay {
    DEV,
    GPU;

    public String cliName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public String resourcePath() {
        return "/k8s/" + cliName() + ".yaml";
    }

    public InputStream openRendered() {
        InputStream rendered = Overlay.class.getResourceAsStream(resourcePath());
        if (rendered == null) {
            throw new K8sOperationException("the rendered '" + cliName() + "' overlay is missing from the classpath ("
                    + resourcePath() + "); run k8s/render.sh and rebuild");
        }
        return rendered;
    }
}
