package io.guardedtuning.eval;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import io.guardedtuning.data.McExample;
import io.guardedtuning.model.TokenBatch;
import io.guardedtuning.tokenizer.BpeTokenizer;
import io.guardedtuning.tokenizer.Gpt2Vocabulary;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class MultipleChoiceEvaluatorTest {

    private static final Gpt2Vocabulary VOCAB = Gpt2Vocabulary.truncated(0);
    private static final BpeTokenizer TOKENIZER = VOCAB.tokenizer();

    /**
     * A model with known preferences: every position predicts the byte token for 'a' with log-probability near 0
     * and every other token with a fixed low log-probability, so a choice's score is minus the number of its
     * characters that are not 'a'.
     */
    private static LanguageModel prefersLetterA() {
        int a = TOKENIZER.encode("a")[0];
        return (TokenBatch batch) -> {
            int v = VOCAB.vocabSize();
            float[] row = new float[v];
            java.util.Arrays.fill(row, -20f);
            row[a] = 20f;
            long b = batch.batchSize();
            long t = batch.sequenceLength();
            NDArray one = batch.inputIds().getManager().create(row, new Shape(1, 1, v));
            return one.broadcast(new Shape(b, t, v));
        };
    }

    @Test
    void picksTheChoiceTheModelFindsMostLikelyAndNormalisesByLength() {
        McEncoder encoder = new McEncoder(TOKENIZER, VOCAB.bosTokenId(), 64);
        MultipleChoiceEvaluator evaluator = new MultipleChoiceEvaluator(encoder, VOCAB.padTokenId(), 3);
        List<McExample> task = List.of(
                new McExample("1", "Q:", List.of(" bb", " aa", " ab"), 1),
                new McExample("2", "Q:", List.of(" ba", " aaa"), 1),
                // The sum prefers the short " b" (2 misses) to " aaaaaaabb" (3 misses); per character, the long one.
                new McExample("3", "Q:", List.of(" b", " aaaaaaabb"), 1),
                new McExample("4", "Q:", List.of(" aa", " bb"), 1));
        MultipleChoiceEvaluator.Result r = evaluator.evaluate(prefersLetterA(), task);
        assertArrayEquals(new int[] {1, 1, 0, 0}, r.predictions());
        assertEquals(0.5, r.accuracy(), 1e-9);
        assertEquals(0.75, r.normalizedAccuracy(), 1e-9);
        assertEquals(4, r.examples());
    }

    @Test
    void longContextsLoseTheirStartNeverTheChoice() {
        McEncoder encoder = new McEncoder(TOKENIZER, VOCAB.bosTokenId(), 8);
        McEncoder.Encoded e = encoder.encode("one two three four five six seven", " end");
        assertEquals(8, e.tokens().length);
        assertEquals(VOCAB.bosTokenId(), e.tokens()[0]);
        int[] tail = java.util.Arrays.copyOfRange(e.tokens(), e.scoredFrom(), e.tokens().length);
        assertEquals(" end", TOKENIZER.decode(tail));
        assertThrows(IllegalArgumentException.class, () -> new MultipleChoiceEvaluator(encoder, 0, 0));
    }
}
