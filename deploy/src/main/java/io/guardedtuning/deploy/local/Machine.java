package io.guardedtuning.deploy.local;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/** A one-line description of this machine and of the code version, for reports that must be reproducible. */
public final class Machine {

    private Machine() {
    }

    public static String describe() {
        String cpu = "unknown CPU";
        try {
            cpu = Files.readAllLines(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith("model name"))
                    .findFirst().map(l -> l.substring(l.indexOf(':') + 1).trim()).orElse(cpu);
        } catch (IOException e) {
            // not Linux: keep the default
        }
        return String.format(Locale.ROOT, "%d cores (%s), %d MiB max heap, %s %s, Java %s",
                Runtime.getRuntime().availableProcessors(), cpu, Runtime.getRuntime().maxMemory() >> 20,
                System.getProperty("os.name"), System.getProperty("os.arch"), System.getProperty("java.version"));
    }

    /** {@code git describe} of the repository at {@code home}, or "unknown" without git. */
    public static String codeVersion(Path home) {
        try {
            Process p = new ProcessBuilder("git", "-C", home.toString(), "describe", "--always", "--dirty")
                    .redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes()).trim();
            return p.waitFor() == 0 ? out : "unknown";
        } catch (IOException e) {
            return "unknown";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "unknown";
        }
    }
}
