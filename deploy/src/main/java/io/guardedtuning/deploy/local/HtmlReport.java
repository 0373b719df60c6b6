package io.guardedtuning.deploy.local;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * One self-contained HTML page for one run or a whole experiment: a table per run, loss curves, the
 * privacy-utility-cost trade-off (leakage vs accuracy, point size = bytes per step) and leakage over steps.
 */
public final class HtmlReport {

    private HtmlReport() {
    }

    public static String render(String title, List<RunReport> runs) {
        StringBuilder html = new StringBuilder();
        html.append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>")
                .append(SvgCharts.esc(title)).append("</title><style>")
                .append("body{font-family:sans-serif;margin:24px;color:#222}table{border-collapse:collapse;margin:8px 0}")
                .append("td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}th{background:#f4f4f4}")
                .append("td:first-child,th:first-child{text-align:left}figure{display:inline-block;margin:8px}")
                .append("figcaption{font-weight:bold}.meta{color:#555;font-size:90%}</style></head><body>");
        html.append("<h1>").append(SvgCharts.esc(title)).append("</h1>");
        html.append(summaryTable(runs));
        html.append(acrossSeeds(runs));
        List<SvgCharts.Series> losses = new ArrayList<>();
        List<SvgCharts.Series> leakage = new ArrayList<>();
        List<SvgCharts.Point> tradeOff = new ArrayList<>();
        for (RunReport r : runs) {
            List<Double> loss = r.series().loss();
            double[] x = new double[loss.size()];
            double[] y = new double[loss.size()];
            for (int i = 0; i < x.length; i++) {
                x[i] = i;
                y[i] = loss.get(i);
            }
            if (x.length > 0) {
                losses.add(new SvgCharts.Series(r.run().id(), x, y));
            }
            r.series().leakage().forEach((attack, points) -> {
                double[] sx = points.stream().mapToDouble(p -> p[0]).toArray();
                double[] sy = points.stream().mapToDouble(p -> p[1]).toArray();
                if (sx.length > 0) {
                    leakage.add(new SvgCharts.Series(r.run().id() + " " + attack, sx, sy));
                }
            });
            if (r.privacy().bestRougeL() != null) {
                tradeOff.add(new SvgCharts.Point(r.run().id(), r.privacy().bestRougeL(), r.utility().accuracyAfter(),
                        r.cost().bytesUpPerStep() + r.cost().bytesDownPerStep()));
            } else if (r.offline() != null) {
                // Nothing crosses per step, so there is nothing to reconstruct from traffic: drawn at 0, labelled so.
                tradeOff.add(new SvgCharts.Point(r.run().id() + " (nothing crosses)", 0, r.utility().accuracyAfter(),
                        r.cost().bytesUpPerStep() + r.cost().bytesDownPerStep()));
            }
        }
        html.append("<h2>Curves</h2>");
        if (!losses.isEmpty()) {
            html.append(SvgCharts.lines("loss", "Training loss per step", "step", "loss", losses));
        }
        if (!leakage.isEmpty()) {
            html.append(SvgCharts.lines("leakage", "Reconstruction ROUGE-L F1 over steps", "step", "ROUGE-L F1",
                    leakage));
        }
        if (!tradeOff.isEmpty()) {
            html.append(SvgCharts.scatter("tradeoff", "Privacy-utility-cost trade-off (size = bytes per step)",
                    "best-attack ROUGE-L F1 (lower is more private)", "accuracy after tuning", tradeOff));
        }
        html.append("<h2>Runs</h2>");
        for (RunReport r : runs) {
            html.append(runDetails(r));
        }
        return html.append("</body></html>").toString();
    }

    private static String summaryTable(List<RunReport> runs) {
        StringBuilder t = new StringBuilder("<table id=\"summary\"><tr><th>run</th><th>design</th><th>acc before</th>"
                + "<th>acc after</th><th>&Delta; to centralized</th><th>leakage ROUGE-L (chance floor)</th><th>bytes up/step</th>"
                + "<th>bytes down/step</th><th>total bytes</th><th>client compute s</th><th>emulator gap</th>"
                + "<th>status</th></tr>");
        for (RunReport r : runs) {
            t.append("<tr><td>").append(SvgCharts.esc(r.run().id())).append("</td><td>").append(r.run().design())
                    .append("</td><td>").append(num(r.utility().accuracyBefore())).append("</td><td>")
                    .append(num(r.utility().accuracyAfter())).append("</td><td>")
                    .append(num(r.utility().deltaToCentralized())).append("</td><td>")
                    .append(r.offline() != null && r.privacy().bestRougeL() == null ? "n/a: nothing crosses"
                            : leakage(r.privacy())).append("</td><td>")
                    .append(bytes(r.cost().bytesUpPerStep())).append("</td><td>")
                    .append(bytes(r.cost().bytesDownPerStep())).append("</td><td>")
                    .append(bytes(r.cost().bytesUpTotal() + r.cost().bytesDownTotal())).append("</td><td>")
                    .append(num(r.cost().clientComputeMillis() / 1000.0)).append("</td><td>")
                    .append(num(r.offline() == null ? null : r.offline().gap())).append("</td><td>")
                    .append(SvgCharts.esc(r.run().status())).append("</td></tr>");
        }
        return t.append("</table>").toString();
    }

    /** Runs that differ only in their seed (ids ending in -seedN), as mean and spread; empty when there are none. */
    private static String acrossSeeds(List<RunReport> runs) {
        Map<String, List<RunReport>> groups = new java.util.LinkedHashMap<>();
        for (RunReport r : runs) {
            groups.computeIfAbsent(r.run().id().replaceAll("-seed\\d+$", ""), k -> new ArrayList<>()).add(r);
        }
        if (groups.values().stream().noneMatch(g -> g.size() > 1)) {
            return "";
        }
        StringBuilder t = new StringBuilder("<h2>Across seeds</h2><table id=\"seeds\"><tr><th>settings</th>"
                + "<th>seeds</th><th>acc after (mean &plusmn; sd)</th><th>&Delta; to centralized (mean)</th>"
                + "<th>best ROUGE-L (mean)</th><th>bytes/step</th></tr>");
        groups.forEach((settings, g) -> {
            double[] acc = g.stream().mapToDouble(r -> r.utility().accuracyAfter()).toArray();
            t.append("<tr><td>").append(SvgCharts.esc(settings)).append("</td><td>").append(g.size())
                    .append("</td><td>").append(num(mean(acc))).append(" &plusmn; ").append(num(sd(acc)))
                    .append("</td><td>").append(num(mean(g.stream().map(r -> r.utility().deltaToCentralized()))))
                    .append("</td><td>").append(num(mean(g.stream().map(r -> r.privacy().bestRougeL()))))
                    .append("</td><td>").append(bytes(g.get(0).cost().bytesUpPerStep()
                            + g.get(0).cost().bytesDownPerStep())).append("</td></tr>");
        });
        return t.append("</table>").toString();
    }

    /** The headline with its floor, e.g. "0.912 (0.130)". */
    private static String leakage(RunReport.Privacy p) {
        return p.bestRougeL() == null ? num(null) : num(p.bestRougeL()) + " (" + num(p.floorRougeL()) + ")";
    }

    private static Double mean(java.util.stream.Stream<Double> values) {
        double[] v = values.filter(java.util.Objects::nonNull).mapToDouble(Double::doubleValue).toArray();
        return v.length == 0 ? null : mean(v);
    }

    private static double mean(double[] v) {
        return java.util.Arrays.stream(v).average().orElse(Double.NaN);
    }

    /** Sample standard deviation (n − 1). */
    private static double sd(double[] v) {
        if (v.length < 2) {
            return Double.NaN;
        }
        double m = mean(v);
        return Math.sqrt(java.util.Arrays.stream(v).map(x -> (x - m) * (x - m)).sum() / (v.length - 1));
    }

    private static String runDetails(RunReport r) {
        StringBuilder d = new StringBuilder("<h3>").append(SvgCharts.esc(r.run().id())).append("</h3>");
        d.append("<p class=\"meta\">model ").append(SvgCharts.esc(r.run().model())).append(", task ")
                .append(SvgCharts.esc(r.run().task())).append(", split k=").append(r.run().splitK())
                .append(", code ").append(SvgCharts.esc(r.run().codeVersion())).append(", machine ")
                .append(SvgCharts.esc(r.run().machine())).append(", started ").append(r.run().startedAt())
                .append(", wall ").append(num(r.run().wallSeconds())).append(" s</p>");
        d.append("<table><tr><th>setting</th><th>value</th></tr>");
        for (Map.Entry<String, Object> e : r.run().settings().entrySet()) {
            d.append("<tr><td>").append(SvgCharts.esc(e.getKey())).append("</td><td>")
                    .append(SvgCharts.esc(String.valueOf(e.getValue()))).append("</td></tr>");
        }
        d.append("</table><table><tr><th>attack</th><th>ROUGE-L F1 (max over training steps)</th><th>token F1</th>"
                + "<th>chance floor</th><th>scored steps</th><th>note</th></tr>");
        r.privacy().attacks().forEach((name, s) -> d.append("<tr><td>").append(SvgCharts.esc(name)).append("</td><td>")
                .append(num(s.rougeL())).append("</td><td>").append(num(s.tokenF1())).append("</td><td>")
                .append(num(s.floorRougeL())).append("</td><td>")
                .append(s.observations()).append("</td><td>").append(SvgCharts.esc(s.note() == null ? "" : s.note()))
                .append("</td></tr>"));
        d.append("</table>");
        if (r.offline() != null) {
            RunReport.Offline o = r.offline();
            d.append("<p>Offline: the full model scored ").append(num(o.fullModelAccuracyBefore()))
                    .append(" before tuning; with the returned adapters plugged in ").append(num(o.pluginAccuracy()))
                    .append("; the emulator the client tuned on, with the same adapters, ")
                    .append(num(o.emulatorAccuracy())).append(" (emulator gap ").append(num(o.gap()))
                    .append("). One-time package ").append(bytes(o.packageBytes()))
                    .append("; no activation or gradient crossed during training.</p>");
        }
        if (r.defence() != null) {
            d.append(defence(r.defence()));
        }
        if (r.run().error() != null) {
            d.append("<p><b>error:</b> ").append(SvgCharts.esc(r.run().error())).append("</p>");
        }
        return d.toString();
    }

    /** The client's defences: the announced settings, the warm-up, and the leakage budget with every move. */
    private static String defence(com.fasterxml.jackson.databind.JsonNode n) {
        StringBuilder d = new StringBuilder("<p>Client defences: noise σ ").append(num(n.path("noiseStd").asDouble()))
                .append(" (RMS of the pretrained h_in ").append(num(n.path("noiseUnitRms").asDouble()))
                .append("), announced ").append(SvgCharts.esc(n.path("announced").toString())).append(".");
        com.fasterxml.jackson.databind.JsonNode w = n.path("warmup");
        if (!w.isMissingNode()) {
            d.append(" Warm-up ").append(SvgCharts.esc(w.path("recipe").asText())).append(": LM loss ")
                    .append(num(w.path("lmLossBefore").asDouble())).append(" → ")
                    .append(num(w.path("lmLossAfter").asDouble())).append(", dCor² ")
                    .append(num(w.path("dcorBefore").asDouble())).append(" → ")
                    .append(num(w.path("dcorAfter").asDouble())).append(".");
        }
        d.append("</p>");
        com.fasterxml.jackson.databind.JsonNode b = n.path("leakageBudget");
        if (!b.isMissingNode()) {
            d.append("<p>Leakage budget ").append(num(b.path("budget").asDouble())).append(" (ROUGE-L F1 of the "
                    + "client's own attack): ").append(b.path("batchesChecked").asInt()).append(" batches checked, "
                    + "largest sent ").append(num(b.path("maxLeakageSent").asDouble())).append(", final σ ")
                    .append(num(b.path("finalNoiseStd").asDouble()));
            if (b.hasNonNull("stopped")) {
                d.append("; <b>stopped:</b> ").append(SvgCharts.esc(b.path("stopped").asText()));
            }
            d.append("</p><table><tr><th>pass</th><th>step</th><th>cause</th><th>σ from</th><th>σ to</th>"
                    + "<th>leakage before</th><th>leakage after</th></tr>");
            for (com.fasterxml.jackson.databind.JsonNode m : b.path("moves")) {
                d.append("<tr><td>").append(m.path("pass").asLong()).append("</td><td>").append(m.path("step").asLong())
                        .append("</td><td>").append(SvgCharts.esc(m.path("cause").asText("check")))
                        .append("</td><td>").append(num(m.path("fromNoiseStd").asDouble())).append("</td><td>")
                        .append(num(m.path("toNoiseStd").asDouble())).append("</td><td>")
                        .append(num(m.path("leakageBefore").asDouble())).append("</td><td>")
                        .append(num(m.hasNonNull("leakageAfter") ? m.path("leakageAfter").asDouble() : null))
                        .append("</td></tr>");
            }
            d.append("</table>");
        }
        return d.toString();
    }

    static String num(Double v) {
        return v == null || v.isNaN() ? "&ndash;" : String.format(Locale.ROOT, "%.3f", v);
    }

    static String bytes(double b) {
        if (b >= 1 << 20) {
            return String.format(Locale.ROOT, "%.2f MiB", b / (1 << 20));
        }
        if (b >= 1 << 10) {
            return String.format(Locale.ROOT, "%.1f KiB", b / (1 << 10));
        }
        return String.format(Locale.ROOT, "%.0f B", b);
    }
}
