package io.guardedtuning.offline;

import io.guardedtuning.data.McExample;
import io.guardedtuning.eval.MultipleChoiceEvaluator;
import io.guardedtuning.eval.Perplexity;
import io.guardedtuning.model.OptModel;

import java.util.List;

/**
 * The value the client cannot get from what it received: task accuracy (and perplexity) of the emulator with the
 * tuned adapters, against the provider's full model with the same adapters plugged in.
 * {@code accuracyGap = plugIn − emulator}; perplexities are NaN when no held-out text was given.
 */
public record EmulatorGap(int examples, double emulatorAccuracy, double plugInAccuracy, double accuracyGap,
                          double emulatorPerplexity, double plugInPerplexity) {

    public static EmulatorGap measure(OptModel emulatorWithAdapters, OptModel plugIn, MultipleChoiceEvaluator evaluator,
                                      List<McExample> examples, List<int[]> heldOutText, int batchSize) {
        double emulatorAcc = evaluator.evaluate(emulatorWithAdapters::logits, examples).accuracy();
        double plugInAcc = evaluator.evaluate(plugIn::logits, examples).accuracy();
        double emulatorPpl = heldOutText.isEmpty() ? Double.NaN
                : Perplexity.evaluate(emulatorWithAdapters, heldOutText, batchSize).perplexity();
        double plugInPpl = heldOutText.isEmpty() ? Double.NaN
                : Perplexity.evaluate(plugIn, heldOutText, batchSize).perplexity();
        return new EmulatorGap(examples.size(), emulatorAcc, plugInAcc, plugInAcc - emulatorAcc, emulatorPpl, plugInPpl);
    }
}
