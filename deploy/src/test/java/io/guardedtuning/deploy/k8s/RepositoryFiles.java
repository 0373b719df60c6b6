package io.guardedtuning.deploy.k8s;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** Paths in the repository's k8s/ directory, seen from the deploy module where surefire runs. */
final class RepositoryFiles {

    static final Path K8S = Path.of("..", "k8s").toAbsolutePath().normalize();

    private RepositoryFiles() {
    }

    /** Every manifest file (not kustomization.yaml, not node_modules). */
    static List<Path> manifests() {
        try (Stream<Path> files = Files.walk(K8S)) {
            return files.filter(file -> file.toString().endsWith(".yaml"))
                    .filter(file -> !file.getFileName().toString().equals("kustomization.yaml"))
                    .filter(file -> !file.toString().contains("node_modules"))
                    .sorted()
                    .toList();
        } catch (IOException unreadable) {
            throw new UncheckedIOException(unreadable);
        }
    }

    /** Runs a command in the repository root; returns its exit code and combined output. */
    static CommandResult run(List<String> command) throws IOException, InterruptedException {
        Process process = new ProcessBuilder(command).directory(K8S.getParent().toFile()).redirectErrorStream(true)
                .start();
        String output = new String(process.getInputStream().readAllBytes());
        return new CommandResult(process.waitFor(), output);
    }

    static boolean onPath(String program) {
        String path = System.getenv("PATH");
        return path != null && Stream.of(path.split(java.io.File.pathSeparator))
                .anyMatch(directory -> Files.isExecutable(Path.of(directory, program)));
    }

    record CommandResult(int exitCode, String output) {
    }
}
