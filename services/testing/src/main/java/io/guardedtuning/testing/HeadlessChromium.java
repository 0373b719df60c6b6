package io.guardedtuning.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Debian's Chromium, headless, for tests that check what a person would see: the DOM after rendering, or a
 * screenshot. Started with the flags that keep it off the network (this machine has none besides the registries).
 */
public final class HeadlessChromium {

    public static final Path BINARY = Path.of("/usr/bin/chromium");

    private HeadlessChromium() {
    }

    public static boolean installed() {
        return Files.isExecutable(BINARY);
    }

    /** The DOM of {@code url} (a file path or http URL) after scripts and layout ran. */
    public static String dumpDom(String url) throws IOException, InterruptedException {
        return run("--dump-dom", url);
    }

    public static void screenshot(String url, Path png, int width, int height) throws IOException,
            InterruptedException {
        run("--screenshot=" + png.toAbsolutePath(), "--window-size=" + width + "," + height, url);
    }

    private static String run(String... args) throws IOException, InterruptedException {
        Path profile = Files.createTempDirectory("gt-chromium");
        List<String> command = new ArrayList<>(List.of(BINARY.toString(), "--headless", "--no-sandbox",
                "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--user-data-dir=" + profile));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException("chromium did not finish within 60 s");
        }
        return out;
    }
}
