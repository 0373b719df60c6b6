package io.guardedtuning.deploy.k8s;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The per-session manifests, read from the gt-session-templates ConfigMap that `gt k8s deploy` installed (so a
 * session follows the overlay the stack was deployed with), with their ${...} placeholders filled in.
 */
public final class SessionTemplates {

    public static final String CONFIG_MAP = "gt-session-templates";
    static final String SESSION_TOPIC = "session-topic.yaml";
    static final String CLIENT_USER = "client-user.yaml";
    static final String CLIENT_JOB = "client-compute-job.yaml";
    static final String EMULATOR_JOB = "emulator-distillation-job.yaml";

    private static final Pattern PLACEHOLDER = Pattern.compile("\\$\\{([A-Z_]+)}");

    private final Map<String, String> templates;
    private final KubernetesSerialization serialization;

    public SessionTemplates(ConfigMap templateMap, KubernetesSerialization serialization) {
        this.templates = templateMap.getData() == null ? Map.of() : templateMap.getData();
        this.serialization = serialization;
    }

    /** The session's down topic, Kafka user and client Job, plus the emulator Job for Offline sessions. */
    public List<HasMetadata> render(SessionSpec spec) {
        List<String> names = new ArrayList<>(List.of(SESSION_TOPIC, CLIENT_USER, CLIENT_JOB));
        if (spec.design().needsEmulator()) {
            names.add(EMULATOR_JOB);
        }
        Map<String, String> values = placeholderValues(spec);
        List<HasMetadata> resources = new ArrayList<>();
        for (String name : names) {
            resources.add(serialization.unmarshal(fill(name, values)));
        }
        return resources;
    }

    private String fill(String templateName, Map<String, String> values) {
        String template = templates.get(templateName);
        if (template == null) {
            throw new K8sOperationException("ConfigMap " + CONFIG_MAP + " has no entry " + templateName
                    + "; redeploy with `gt k8s deploy`");
        }
        Matcher matcher = PLACEHOLDER.matcher(template);
        StringBuilder filled = new StringBuilder();
        while (matcher.find()) {
            String value = values.get(matcher.group(1));
            if (value == null) {
                throw new K8sOperationException("template " + templateName + " uses unknown placeholder "
                        + matcher.group());
            }
            matcher.appendReplacement(filled, Matcher.quoteReplacement(value));
        }
        matcher.appendTail(filled);
        return filled.toString();
    }

    private static Map<String, String> placeholderValues(SessionSpec spec) {
        SessionNames names = new SessionNames(spec.sessionId());
        return Map.of(
                "SESSION_ID", spec.sessionId(),
                "SESSION_LABEL", names.label(),
                "DESIGN", spec.design().envValue(),
                "SPLIT_K", Integer.toString(spec.splitK()),
                "ALPHA", Double.toString(spec.alpha()),
                "BITS_UP", Integer.toString(spec.bitsUp()),
                "BITS_DOWN", Integer.toString(spec.bitsDown()),
                "TASK", spec.task().name(),
                "TRAIN_SIZE", Integer.toString(spec.task().trainSize()),
                "EVAL_SIZE", Integer.toString(spec.task().evalSize()));
    }
}
