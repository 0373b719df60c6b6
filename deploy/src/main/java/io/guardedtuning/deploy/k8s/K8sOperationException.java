package io.guardedtuning.deploy.k8s;

/** A failure of a {@code gt k8s} operation whose message tells the operator what went wrong and what to do. */
public class K8sOperationException extends RuntimeException {

    public K8sOperationException(String message) {
        super(message);
    }

    public K8sOperationException(String message, Throwable cause) {
        super(message, cause);
    }
}
