package io.guardedtuning.offline;

import io.guardedtuning.data.McExample;
import io.guardedtuning.eval.McEncoder;
import io.guardedtuning.eval.MultipleChoiceEvaluator;
import io.guardedtuning.model.OptConfig;
import io.guardedtuning.tokenizer.Gpt2Vocabulary;

import java.util.ArrayList;
import java.util.List;

/** Shapes, text and a learnable task small enough for tests that take seconds. */
final class TinyOffline {

    static final Gpt2Vocabulary VOCAB = Gpt2Vocabulary.truncated(40);

    private TinyOffline() {
    }

    /** Six layers: with k = 1 the middle has 4, and S = 2 keeps {0, 3}. */
    static OptConfig config() {
        return OptConfig.of(VOCAB.vocabSize(), 32, 6, 64, 4, 64)
                .withSpecialTokens(VOCAB.padTokenId(), VOCAB.bosTokenId(), VOCAB.eosTokenId());
    }

    /** Equal-length windows of a repetitive public text. */
    static List<int[]> publicText(int count, int length, int offset) {
        int[] stream = VOCAB.tokenizer().encode(("the old man and the sea went to town. a cat sat on the mat "
                + "while the rain fell on the hills. ").repeat(40));
        List<int[]> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            int from = (offset + i * 7) % (stream.length - length);
            out.add(java.util.Arrays.copyOfRange(stream, from, from + length));
        }
        return out;
    }

    /** "sun ... -> yes", "rain ... -> no": learnable by the adapters alone. */
    static List<McExample> task(int count) {
        String[] words = {"red", "blue", "green", "gold", "pink", "gray"};
        List<McExample> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            boolean yes = i % 2 == 0;
            out.add(new McExample("t" + i, (yes ? "sun " : "rain ") + words[i % words.length] + " ->",
                    List.of(" no", " yes"), yes ? 1 : 0));
        }
        return out;
    }

    static McEncoder encoder() {
        return new McEncoder(VOCAB.tokenizer(), VOCAB.bosTokenId(), 32);
    }

    static MultipleChoiceEvaluator evaluator() {
        return new MultipleChoiceEvaluator(encoder(), VOCAB.padTokenId(), 16);
    }
}
