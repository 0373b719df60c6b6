package io.guardedtuning.deploy.local;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.List;
import java.util.Map;

/**
 * The machine-readable result of one local run: enough to reproduce it (what ran, on what, with which code) and to
 * answer "how useful, how private, how costly". Serialised as the run's summary JSON; the HTML report renders it.
 * {@code defence} is the client's own account of its defences (what it announced, the warm-up, the noise, every
 * move of its leakage budget), or null when it had none.
 */
public record RunReport(Run run, Utility utility, Privacy privacy, Cost cost, Offline offline, Series series,
                        JsonNode defence) {

    /** A run without client defences (or from before they existed). */
    public RunReport(Run run, Utility utility, Privacy privacy, Cost cost, Offline offline, Series series) {
        this(run, utility, privacy, cost, offline, series, null);
    }

    /** What ran, and where; {@code adaptersSha256} names the trained adapters (equal digests: equal weights). */
    public record Run(String id, String design, Map<String, Object> settings, String model, String task,
                      int splitK, String codeVersion, String machine, String startedAt, double wallSeconds,
                      String status, String error, String adaptersSha256) {
    }

    /** Task accuracy before and after, and the gap to centralized fine-tuning of the same layers. */
    public record Utility(double accuracyBefore, double accuracyAfter, double normalizedAccuracyBefore,
                          double normalizedAccuracyAfter, Double centralizedAccuracyAfter, Double deltaToCentralized,
                          int testExamples) {
    }

    /**
     * The run's leakage: {@code bestRougeL} is the headline, the maximum over all scored training steps (step 0
     * included) of the strongest attack, at step {@code bestStep} by {@code bestAttack}, with the chance floor the
     * client measured beside it (the same metric against unrelated rows of its task) and the share of that step's
     * token ids in the attacker's public text. Per attack, its own maximum. Scored by the client, from the auditor.
     */
    public record Privacy(Map<String, AttackScore> attacks, Double bestRougeL, int auditedSteps, Double floorRougeL,
                          String bestAttack, Long bestStep, Double coverage) {
    }

    /** One attack's most exposed training step: its ROUGE-L F1, token-set F1 and chance floor there. */
    public record AttackScore(double rougeL, double tokenF1, Double floorRougeL, int observations, String note) {
    }

    /** Bytes each way, per step and in total, and the client's compute time. */
    public record Cost(long steps, double bytesUpPerStep, double bytesDownPerStep, long bytesUpTotal,
                       long bytesDownTotal, long clientComputeMillis, long retries, long resends) {
    }

    /**
     * Offline only: the emulator gap (plug-in full model minus the emulator with the tuned adapters, both on the
     * client's test examples), the one-time package size, and the full model's accuracy before tuning.
     */
    public record Offline(double pluginAccuracy, double emulatorAccuracy, double gap, long packageBytes,
                          double fullModelAccuracyBefore) {
    }

    /** Curves: loss per step, leakage per audited step for each attack. */
    public record Series(List<Double> loss, Map<String, List<double[]>> leakage) {
    }
}
