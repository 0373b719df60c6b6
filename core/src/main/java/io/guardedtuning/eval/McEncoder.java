package io.guardedtuning.eval;

import io.guardedtuning.data.McExample;
import io.guardedtuning.tokenizer.BpeTokenizer;

/**
 * Turns a multiple-choice example into token sequences the way lm-eval-harness scores them: the beginning-of-
 * sequence token, the context, then one choice; only the choice's tokens are scored (and trained on). Contexts
 * too long for the model lose their start, never the choice.
 */
public record McEncoder(BpeTokenizer tokenizer, int bosTokenId, int maxTokens) {

    public McEncoder {
        if (maxTokens < 4) {
            throw new IllegalArgumentException("maxTokens must be >= 4, got " + maxTokens);
        }
    }

    /** A sequence and the index of its first scored token. */
    public record Encoded(int[] tokens, int scoredFrom) {
    }

    public Encoded encode(String context, String choice) {
        int[] ctx = tokenizer.encode(context);
        int[] cont = tokenizer.encode(choice);
        if (cont.length == 0) {
            throw new IllegalArgumentException("a choice encodes to no tokens: '" + choice + "'");
        }
        if (cont.length > maxTokens - 2) {
            cont = java.util.Arrays.copyOf(cont, maxTokens - 2);
        }
        int keepCtx = Math.min(ctx.length, maxTokens - 1 - cont.length);
        int[] seq = new int[1 + keepCtx + cont.length];
        seq[0] = bosTokenId;
        System.arraycopy(ctx, ctx.length - keepCtx, seq, 1, keepCtx);
        System.arraycopy(cont, 0, seq, 1 + keepCtx, cont.length);
        return new Encoded(seq, 1 + keepCtx);
    }

    public Encoded encodeAnswer(McExample example) {
        return encode(example.context(), example.correctChoice());
    }
}
