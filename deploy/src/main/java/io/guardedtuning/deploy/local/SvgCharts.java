package io.guardedtuning.deploy.local;

import java.util.List;
import java.util.Locale;

/**
 * Charts drawn as inline SVG in Java, so a report is one self-contained HTML file that renders with no network
 * and no script. Each chart carries a {@code data-chart} attribute and one element per drawn point or line, which
 * is what the browser test checks.
 */
public final class SvgCharts {

    private static final int W = 560;
    private static final int H = 300;
    private static final int PAD_LEFT = 56;
    private static final int PAD_BOTTOM = 40;
    private static final int PAD = 16;
    private static final String[] COLOURS = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
            "#e377c2", "#17becf"};
    /** After the colours run out, series differ by dash pattern too. */
    private static final String[] DASHES = {"", "6 3", "2 2", "8 3 2 3"};
    private static final int LEGEND_ROW = 14;

    /** A named series of (x, y) points. */
    public record Series(String name, double[] x, double[] y) {
    }

    /** A labelled point; {@code size} scales its radius (e.g. bytes per step). */
    public record Point(String label, double x, double y, double size) {
    }

    private SvgCharts() {
    }

    public static String lines(String id, String title, String xLabel, String yLabel, List<Series> series) {
        double[] xr = range(series.stream().flatMapToDouble(s -> java.util.Arrays.stream(s.x())).toArray());
        double[] yr = range(series.stream().flatMapToDouble(s -> java.util.Arrays.stream(s.y())).toArray());
        // The legend goes below the plot, one full-width row per series, so long run ids are never cut.
        StringBuilder svg = open(id, "lines", title, H + 8 + LEGEND_ROW * series.size());
        axes(svg, xr, yr, xLabel, yLabel);
        for (int i = 0; i < series.size(); i++) {
            Series s = series.get(i);
            StringBuilder path = new StringBuilder();
            StringBuilder markers = new StringBuilder();
            for (int j = 0; j < s.x().length; j++) {
                if (!Double.isFinite(s.y()[j])) {
                    continue;
                }
                String x = fmt(px(s.x()[j], xr));
                String y = fmt(py(s.y()[j], yr));
                path.append(path.length() == 0 ? "M" : "L").append(x).append(',').append(y);
                // Markers keep sparse series visible: a series of one point draws no line.
                markers.append(String.format(Locale.ROOT, "<circle class=\"marker\" cx=\"%s\" cy=\"%s\" r=\"2.5\" "
                        + "fill=\"%s\"/>", x, y, colour(i)));
            }
            svg.append(String.format(Locale.ROOT, "<path class=\"series\" data-series=\"%s\" d=\"%s\" fill=\"none\" "
                    + "stroke=\"%s\" stroke-width=\"2\"%s/>", esc(s.name()), path, colour(i), dash(i)));
            if (s.x().length <= 30) {
                svg.append(markers);
            }
            legend(svg, i, s.name());
        }
        return svg.append("</svg>").toString();
    }

    public static String scatter(String id, String title, String xLabel, String yLabel, List<Point> points) {
        double[] xr = range(points.stream().mapToDouble(Point::x).toArray());
        double[] yr = range(points.stream().mapToDouble(Point::y).toArray());
        double maxSize = points.stream().mapToDouble(Point::size).max().orElse(1);
        StringBuilder svg = open(id, "scatter", title, H);
        axes(svg, xr, yr, xLabel, yLabel);
        for (int i = 0; i < points.size(); i++) {
            Point p = points.get(i);
            double r = 4 + 12 * Math.sqrt(Math.max(0, p.size()) / Math.max(1e-12, maxSize));
            svg.append(String.format(Locale.ROOT, "<circle class=\"point\" cx=\"%s\" cy=\"%s\" r=\"%s\" fill=\"%s\" "
                            + "fill-opacity=\"0.6\"><title>%s</title></circle>", fmt(px(p.x(), xr)),
                    fmt(py(p.y(), yr)), fmt(r), colour(i), esc(p.label())));
            svg.append(String.format(Locale.ROOT, "<text x=\"%s\" y=\"%s\" font-size=\"10\">%s</text>",
                    fmt(px(p.x(), xr) + r + 2), fmt(py(p.y(), yr) + 3), esc(p.label())));
        }
        return svg.append("</svg>").toString();
    }

    private static StringBuilder open(String id, String kind, String title, int height) {
        return new StringBuilder(String.format(Locale.ROOT, "<figure><figcaption>%s</figcaption><svg id=\"%s\" "
                        + "data-chart=\"%s\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                        + "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\">", esc(title), esc(id), kind, W, height,
                W, height));
    }

    private static void axes(StringBuilder svg, double[] xr, double[] yr, String xLabel, String yLabel) {
        int x0 = PAD_LEFT;
        int y0 = H - PAD_BOTTOM;
        svg.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#444\"/>",
                x0, y0, W - PAD, y0));
        svg.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#444\"/>",
                x0, PAD, x0, y0));
        for (int i = 0; i <= 4; i++) {
            double xv = xr[0] + (xr[1] - xr[0]) * i / 4;
            double yv = yr[0] + (yr[1] - yr[0]) * i / 4;
            svg.append(String.format(Locale.ROOT, "<text x=\"%s\" y=\"%d\" font-size=\"10\" text-anchor=\"middle\">"
                    + "%s</text>", fmt(px(xv, xr)), y0 + 14, tick(xv)));
            svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%s\" font-size=\"10\" text-anchor=\"end\">"
                    + "%s</text>", x0 - 4, fmt(py(yv, yr) + 3), tick(yv)));
        }
        svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\">%s"
                + "</text>", (x0 + W - PAD) / 2, H - 6, esc(xLabel)));
        svg.append(String.format(Locale.ROOT, "<text x=\"12\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\" "
                + "transform=\"rotate(-90 12 %d)\">%s</text>", (PAD + y0) / 2, (PAD + y0) / 2, esc(yLabel)));
    }

    private static void legend(StringBuilder svg, int i, String name) {
        int y = H + 6 + LEGEND_ROW * i;
        svg.append(String.format(Locale.ROOT, "<g class=\"legend\"><line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
                        + "stroke=\"%s\" stroke-width=\"2\"%s/><text x=\"%d\" y=\"%d\" font-size=\"10\">%s</text></g>",
                PAD_LEFT, y, PAD_LEFT + 18, y, colour(i), dash(i), PAD_LEFT + 24, y + 4, esc(name)));
    }

    private static String dash(int i) {
        String pattern = DASHES[(i / COLOURS.length) % DASHES.length];
        return pattern.isEmpty() ? "" : " stroke-dasharray=\"" + pattern + "\"";
    }

    private static double[] range(double[] values) {
        double lo = Double.POSITIVE_INFINITY;
        double hi = Double.NEGATIVE_INFINITY;
        for (double v : values) {
            if (Double.isFinite(v)) {
                lo = Math.min(lo, v);
                hi = Math.max(hi, v);
            }
        }
        if (lo == Double.POSITIVE_INFINITY) {
            return new double[] {0, 1};
        }
        if (hi - lo < 1e-12) {
            return new double[] {lo - 0.5, hi + 0.5};
        }
        double margin = (hi - lo) * 0.05;
        return new double[] {lo - margin, hi + margin};
    }

    private static double px(double x, double[] r) {
        return PAD_LEFT + (x - r[0]) / (r[1] - r[0]) * (W - PAD - PAD_LEFT);
    }

    private static double py(double y, double[] r) {
        return H - PAD_BOTTOM - (y - r[0]) / (r[1] - r[0]) * (H - PAD_BOTTOM - PAD);
    }

    private static String tick(double v) {
        double a = Math.abs(v);
        return a >= 1e4 || (a > 0 && a < 1e-2) ? String.format(Locale.ROOT, "%.1e", v)
                : String.format(Locale.ROOT, "%.2f", v);
    }

    private static String fmt(double v) {
        return String.format(Locale.ROOT, "%.1f", v);
    }

    private static String colour(int i) {
        return COLOURS[i % COLOURS.length];
    }

    static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
