package io.guardedtuning.deploy.local;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Stream;

/**
 * Starts the local stack's JVMs and guarantees they go away: on {@link #close}, on a failure, and on Ctrl-C (a
 * shutdown hook). Each process logs to its own file; children of children are stopped too. Processes are
 * stopped in reverse start order, politely (SIGTERM) first, forcibly after a grace period.
 */
public final class ProcessSupervisor implements AutoCloseable {

    /** A started process and where its output goes. */
    public record Managed(String name, Process process, Path log) {
        public long pid() {
            return process.pid();
        }
    }

    /** Raised when a component does not come up; names it and shows the end of its log. */
    public static final class StartFailure extends RuntimeException {
        public StartFailure(String component, String why, Path log) {
            super(component + " failed to start: " + why + tail(log));
        }

        /** The reason (root cause or first error line) and the last lines of the log. */
        private static String tail(Path log) {
            try {
                // Lenient decoding: a process's output need not be valid UTF-8.
                List<String> lines = new String(Files.readAllBytes(log), java.nio.charset.StandardCharsets.UTF_8)
                        .lines().toList();
                // The root cause of a failed start is the innermost "Caused by" (with its message's further
                // lines, up to the stack trace); else the first error line.
                int cause = -1;
                for (int i = 0; i < lines.size(); i++) {
                    if (lines.get(i).startsWith("Caused by") || (cause < 0 && lines.get(i).contains("ERROR"))) {
                        cause = i;
                    }
                }
                StringBuilder reason = new StringBuilder();
                for (int i = cause; i >= 0 && i < Math.min(lines.size(), cause + 8); i++) {
                    if (i > cause && lines.get(i).startsWith("\tat ")) {
                        break;
                    }
                    reason.append('\n').append(lines.get(i));
                }
                return reason + "\n--- last lines of " + log + " ---\n"
                        + String.join("\n", lines.subList(Math.max(0, lines.size() - 15), lines.size()));
            } catch (IOException e) {
                return "";
            }
        }
    }

    private static final Duration GRACE = Duration.ofSeconds(10);

    private final Path logDir;
    private final List<Managed> started = Collections.synchronizedList(new ArrayList<>());
    private final Thread hook = new Thread(this::stopAll, "gt-local-stop");
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    public ProcessSupervisor(Path logDir) throws IOException {
        this.logDir = Files.createDirectories(logDir);
        Runtime.getRuntime().addShutdownHook(hook);
    }

    public Managed start(String name, List<String> command, Map<String, String> env) throws IOException {
        Path log = logDir.resolve(name + ".log");
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.to(log.toFile()));
        pb.environment().putAll(env);
        Managed m = new Managed(name, pb.start(), log);
        started.add(m);
        return m;
    }

    /** Waits until the process writes a line matching {@code ready} to its log; returns that line. */
    public String awaitLogLine(Managed m, Predicate<String> ready, Duration timeout) throws IOException,
            InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (!m.process().isAlive()) {
                throw new StartFailure(m.name(), "exited with code " + m.process().exitValue(), m.log());
            }
            try (Stream<String> lines = Files.lines(m.log())) {
                var hit = lines.filter(ready).findFirst();
                if (hit.isPresent()) {
                    return hit.get();
                }
            } catch (java.io.UncheckedIOException e) {
                // The log may hold a partial multi-byte character while being written; read again.
            }
            Thread.sleep(200);
        }
        throw new StartFailure(m.name(), "not ready after " + timeout.toSeconds() + " s", m.log());
    }

    /** Waits until {@code url} answers 200 (a Quarkus readiness endpoint). */
    public void awaitHealthy(Managed m, String url, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (!m.process().isAlive()) {
                throw new StartFailure(m.name(), "exited with code " + m.process().exitValue(), m.log());
            }
            try {
                HttpResponse<Void> r = http.send(HttpRequest.newBuilder(URI.create(url))
                        .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.discarding());
                if (r.statusCode() == 200) {
                    return;
                }
            } catch (IOException e) {
                // not listening yet
            }
            Thread.sleep(300);
        }
        throw new StartFailure(m.name(), "health check " + url + " not UP after " + timeout.toSeconds() + " s",
                m.log());
    }

    private static final java.util.Set<Integer> HANDED_OUT = new java.util.HashSet<>();

    /**
     * A free loopback port not handed out before by this process: the OS may return a port again once its probe
     * socket closes, before the process it was meant for has bound it.
     */
    public static synchronized int freePort() throws IOException {
        while (true) {
            try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
                if (HANDED_OUT.add(s.getLocalPort())) {
                    return s.getLocalPort();
                }
            }
        }
    }

    public List<Managed> started() {
        return List.copyOf(started);
    }

    /** Stops one process (and its descendants) now. */
    public static void stop(Managed m) {
        List<ProcessHandle> tree = new ArrayList<>(m.process().descendants().toList());
        tree.add(m.process().toHandle());
        tree.forEach(ProcessHandle::destroy);
        for (ProcessHandle h : tree) {
            try {
                h.onExit().get(GRACE.toMillis(), TimeUnit.MILLISECONDS);
            } catch (Exception e) {
                h.destroyForcibly();
            }
        }
    }

    /** Kills one process now with SIGKILL (a crash: it gets no chance to clean up) and waits until it is gone. */
    public static void kill(Managed m) throws InterruptedException {
        m.process().destroyForcibly();
        m.process().waitFor();
    }

    private void stopAll() {
        List<Managed> reversed = new ArrayList<>(started);
        Collections.reverse(reversed);
        reversed.forEach(ProcessSupervisor::stop);
    }

    @Override
    public void close() {
        stopAll();
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException e) {
            // already shutting down: the hook is running or has run
        }
    }
}
