package io.guardedtuning.data;

import java.util.List;

/**
 * One multiple-choice item, scored lm-eval-harness style: the model sees {@code context + choice} for each choice
 * and the choice with the highest log-likelihood wins. Choices therefore carry their leading space.
 */
public record McExample(String id, String context, List<String> choices, int label) {

    public McExample {
        choices = List.copyOf(choices);
        if (choices.size() < 2) {
            throw new IllegalArgumentException("example " + id + " needs at least 2 choices, has " + choices.size());
        }
        if (label < 0 || label >= choices.size()) {
            throw new IllegalArgumentException("example " + id + " has label " + label + " outside 0.." + (choices.size() - 1));
        }
    }

    public String correctChoice() {
        return choices.get(label);
    }
}
