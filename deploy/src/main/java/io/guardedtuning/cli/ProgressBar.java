package io.guardedtuning.cli;

import java.io.PrintStream;
import java.util.Locale;

/**
 * A one-line progress bar on stderr with an ETA and a free-form status (loss, bytes, leakage). On a terminal it
 * redraws in place; in logs (no console) it prints a line every tenth of the way so CI output stays short.
 */
public final class ProgressBar implements AutoCloseable {

    private static final int WIDTH = 30;

    private final String label;
    private final long total;
    private final PrintStream out;
    private final boolean interactive;
    private final long started = System.nanoTime();
    private long done;
    private int lastDecile = -1;
    private long lastDraw;

    public ProgressBar(String label, long total) {
        this(label, total, System.err, System.console() != null);
    }

    ProgressBar(String label, long total, PrintStream out, boolean interactive) {
        this.label = label;
        this.total = Math.max(1, total);
        this.out = out;
        this.interactive = interactive;
    }

    public void step(String status) {
        done = Math.min(total, done + 1);
        render(status);
    }

    private void render(String status) {
        int decile = (int) (done * 10 / total);
        long now = System.nanoTime();
        if (interactive) {
            if (now - lastDraw < 100_000_000L && done < total) {
                return;
            }
            lastDraw = now;
            out.print("\r" + line(status));
        } else if (decile != lastDecile || done == total) {
            lastDecile = decile;
            out.println(line(status));
        }
        out.flush();
    }

    String line(String status) {
        int filled = (int) (WIDTH * done / total);
        double elapsed = (System.nanoTime() - started) / 1e9;
        double eta = done == 0 ? 0 : elapsed * (total - done) / done;
        return String.format(Locale.ROOT, "%-10s [%s%s] %d/%d %s<%s %s", label, "#".repeat(filled),
                ".".repeat(WIDTH - filled), done, total, clock(elapsed), clock(eta), status == null ? "" : status);
    }

    static String clock(double seconds) {
        long s = Math.round(seconds);
        return String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60);
    }

    @Override
    public void close() {
        if (interactive) {
            out.println();
        }
    }
}
