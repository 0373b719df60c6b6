package io.guardedtuning.deploy.k8s;

import java.util.List;
import java.util.Map;
import java.util.Optional;

/** What `gt k8s status` reports about one namespace. */
public record ClusterStatus(
        String namespace,
        List<PodLine> pods,
        List<DeploymentLine> deployments,
        List<SessionLine> sessions,
        Optional<Map<String, Long>> consumerLag,
        String lagUnavailableReason) {

    public record PodLine(String name, String phase, int readyContainers, int containers) {
    }

    public record DeploymentLine(String name, int readyReplicas, int desiredReplicas, String autoscaling) {
    }

    /** A session found through its labelled resources; {@code clientJob} is its Job's state. */
    public record SessionLine(String sessionId, String label, String clientJob, boolean downTopic) {
    }

    public String render() {
        StringBuilder out = new StringBuilder("namespace ").append(namespace).append('\n');
        out.append("deployments:\n");
        if (deployments.isEmpty()) {
            out.append("  (none)\n");
        }
        for (DeploymentLine deployment : deployments) {
            out.append(String.format("  %-24s ready %d/%d  %s%n", deployment.name(), deployment.readyReplicas(),
                    deployment.desiredReplicas(), deployment.autoscaling()));
        }
        out.append("pods:\n");
        if (pods.isEmpty()) {
            out.append("  (none)\n");
        }
        for (PodLine pod : pods) {
            out.append(String.format("  %-48s %-10s ready %d/%d%n", pod.name(), pod.phase(), pod.readyContainers(),
                    pod.containers()));
        }
        out.append("sessions:\n");
        if (sessions.isEmpty()) {
            out.append("  (none)\n");
        }
        for (SessionLine session : sessions) {
            out.append(String.format("  %-24s client job: %-12s down topic: %s%n", session.sessionId(),
                    session.clientJob(), session.downTopic() ? "yes" : "missing"));
        }
        if (consumerLag.isPresent()) {
            out.append("consumer lag:\n");
            consumerLag.get().forEach((group, lag) -> out.append(String.format("  %-24s %d%n", group, lag)));
        } else {
            out.append("consumer lag: unavailable (").append(lagUnavailableReason).append(")\n");
        }
        return out.toString();
    }
}
