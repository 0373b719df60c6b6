package io.guardedtuning.audit.rest;

import io.guardedtuning.audit.service.LeakagePoint;
import io.guardedtuning.audit.service.LeakageSeries;

import java.util.List;
import java.util.Locale;

/**
 * Renders ROUGE-L F1 over steps, one line per attack and pass, as inline SVG on the server: the page needs no script and
 * no network. Only scored points are drawn; the alert threshold is a dashed line.
 */
public final class LeakageChart {

    static final int WIDTH = 640;
    static final int HEIGHT = 240;
    private static final int LEFT = 44;
    private static final int RIGHT = 120;
    private static final int TOP = 14;
    private static final int BOTTOM = 34;
    private static final String[] COLOURS = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf"};

    private LeakageChart() {
    }

    public static String svg(List<LeakageSeries> series, double threshold) {
        long minStep = Long.MAX_VALUE;
        long maxStep = Long.MIN_VALUE;
        for (LeakageSeries s : series) {
            for (LeakagePoint p : s.points()) {
                if (p.isScored()) {
                    minStep = Math.min(minStep, p.step());
                    maxStep = Math.max(maxStep, p.step());
                }
            }
        }
        StringBuilder out = new StringBuilder();
        out.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"leakage-chart\" "
                + "width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\" "
                + "aria-label=\"ROUGE-L F1 over steps per attack\">", WIDTH, HEIGHT, WIDTH, HEIGHT));
        axes(out);
        if (minStep > maxStep) {
            out.append(text(LEFT + 12, TOP + 24, "no scored steps yet", "start", "empty"));
            return out.append("</svg>").toString();
        }
        long lo = minStep;
        long hi = maxStep == minStep ? minStep + 1 : maxStep;
        out.append(text(LEFT, HEIGHT - 8, Long.toString(lo), "start", "x-label"));
        out.append(text(WIDTH - RIGHT, HEIGHT - 8, Long.toString(hi), "end", "x-label"));
        out.append(text((LEFT + WIDTH - RIGHT) / 2.0, HEIGHT - 8, "step", "middle", "x-title"));
        double ty = y(threshold);
        out.append(String.format(Locale.ROOT, "<line class=\"threshold\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" "
                + "stroke=\"#b00\" stroke-dasharray=\"5,4\"/>", LEFT, ty, WIDTH - RIGHT, ty));
        for (int i = 0; i < series.size(); i++) {
            line(out, series.get(i), COLOURS[i % COLOURS.length], lo, hi, i);
        }
        return out.append("</svg>").toString();
    }

    private static void axes(StringBuilder out) {
        for (int i = 0; i <= 4; i++) {
            double v = i / 4.0;
            out.append(String.format(Locale.ROOT, "<line class=\"grid\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" "
                    + "stroke=\"#ddd\"/>", LEFT, y(v), WIDTH - RIGHT, y(v)));
            out.append(text(LEFT - 6, y(v) + 4, String.format(Locale.ROOT, "%.2f", v), "end", "y-label"));
        }
        out.append(String.format(Locale.ROOT, "<line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
                + "stroke=\"#333\"/>", LEFT, TOP, LEFT, HEIGHT - BOTTOM));
    }

    private static void line(StringBuilder out, LeakageSeries s, String colour, long lo, long hi, int index) {
        StringBuilder points = new StringBuilder();
        StringBuilder dots = new StringBuilder();
        for (LeakagePoint p : s.points()) {
            if (!p.isScored()) {
                continue;
            }
            double px = LEFT + (double) (p.step() - lo) / (hi - lo) * (WIDTH - LEFT - RIGHT);
            double py = y(p.rougeL());
            points.append(String.format(Locale.ROOT, "%.1f,%.1f ", px, py));
            dots.append(String.format(Locale.ROOT, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\">"
                    + "<title>%s step %d: ROUGE-L F1 %.3f</title></circle>", px, py, colour, escape(s.attack()),
                    p.step(), p.rougeL()));
        }
        out.append(String.format(Locale.ROOT, "<g class=\"series\" data-attack=\"%s\" data-pass=\"%s\">",
                escape(s.attack()), escape(s.pass())));
        if (!points.isEmpty()) {
            out.append(String.format(Locale.ROOT, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" "
                    + "points=\"%s\"/>", colour, points.toString().trim()));
        }
        out.append(dots);
        double ly = TOP + 12 + index * 18;
        out.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%.1f\" width=\"12\" height=\"4\" fill=\"%s\"/>",
                WIDTH - RIGHT + 12, ly - 4, colour));
        out.append(text(WIDTH - RIGHT + 30, ly + 1, s.training() ? s.attack() : s.attack() + " (" + s.pass() + ")",
                "start", "legend"));
        out.append("</g>");
    }

    private static double y(double value) {
        return HEIGHT - BOTTOM - Math.max(0, Math.min(1, value)) * (HEIGHT - TOP - BOTTOM);
    }

    private static String text(double x, double y, String content, String anchor, String cssClass) {
        return String.format(Locale.ROOT, "<text class=\"%s\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" "
                + "font-size=\"11\" font-family=\"sans-serif\">%s</text>", cssClass, x, y, anchor, escape(content));
    }

    static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
