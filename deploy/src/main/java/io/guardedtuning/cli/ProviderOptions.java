package io.guardedtuning.cli;

import io.guardedtuning.attack.AttackCatalog;
import io.guardedtuning.deploy.local.LocalStack;
import picocli.CommandLine.Option;

import java.util.List;
import java.util.Map;

/**
 * The provider's policy for local runs (its auditor, its Offline guard), shared by {@code gt run} and
 * {@code gt experiment}.
 */
final class ProviderOptions {

    @Option(names = "--emulator-guard", description = "Offline: the fidelity guard's floor, the emulator's held-out "
            + "perplexity over the full model's (emulator-distillation's default, 1.2, when not given). A layer-drop "
            + "emulator of a small model can be almost as good as the model, and is then refused.")
    Double minPerplexityRatio;

    @Option(names = "--audit-attacks", split = ",", paramLabel = "ATTACK", description = "The auditor's attacks, "
            + "e.g. sip,sip-aligned,sip-adaptive,sip-drift,namoe,eia,bisr-f,tag,bisr-b for all of them (docs/attacks.md). By "
            + "default the local stack leaves out EIA, TAG, SIP-adaptive and NaMoE, which hold the audit for about a "
            + "minute per sampled step on 2 cores; naming them runs the full audit (clients wait up to 45 minutes "
            + "for it).")
    void auditAttacks(List<String> names) {
        // Checked here, so that an unknown name is a usage error before any process starts (picocli first calls
        // this with the empty default).
        auditAttacks = names.isEmpty() ? null : AttackCatalog.ids(names);
    }

    private List<String> auditAttacks;

    void apply(LocalStack stack) {
        if (auditAttacks != null) {
            stack.auditAttacks(auditAttacks);
        }
        if (minPerplexityRatio != null) {
            stack.emulatorSettings(Map.of("gt.emulator.guard.min-perplexity-ratio", minPerplexityRatio.toString()));
        }
    }
}
