package io.guardedtuning.model;

import io.guardedtuning.tokenizer.Gpt2Vocabulary;

/**
 * The project's own small OPT-shaped model: no pretrained causal-LM weights can be obtained here, so we pretrain
 * this one (see docs/models.md). Its vocabulary is GPT-2's 256 byte tokens plus the first 1,790 merges (ids equal
 * GPT-2's) and OPT's {@code </s>} and {@code <pad>}: 2,048 rows, ~25x cheaper per step than GPT-2's 50,257.
 */
public final class TinyOpt {

    public static final String NAME = "gt-tiny-opt";
    public static final int MERGES = 1790;

    private TinyOpt() {
    }

    public static Gpt2Vocabulary vocabulary() {
        return Gpt2Vocabulary.truncated(MERGES);
    }

    public static OptConfig config() {
        Gpt2Vocabulary v = vocabulary();
        return OptConfig.of(v.vocabSize(), 128, 8, 512, 4, 256)
                .withSpecialTokens(v.padTokenId(), v.bosTokenId(), v.eosTokenId());
    }
}
