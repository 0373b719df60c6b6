package io.guardedtuning.model;

import ai.djl.ndarray.NDManager;
import io.guardedtuning.engine.DjlRuntime;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TokenBatchTest {

    /** vocab 40, 6 positions. */
    private static final OptConfig CONFIG = OptConfig.of(40, 8, 1, 16, 2, 6);

    private static String refusal(List<int[]> rows) {
        try (NDManager m = DjlRuntime.newManager(); OptModel model = OptModel.random(CONFIG, 1);
             TokenBatch batch = TokenBatch.of(m, rows, null, 1)) {
            return assertThrows(IllegalArgumentException.class, () -> model.logits(batch).close()).getMessage();
        }
    }

    @Test
    void idsOutsideTheVocabularyAreRefusedNamingRowAndPosition() {
        String high = refusal(List.of(new int[] {2, 5}, new int[] {2, 7, 40}));
        assertTrue(high.contains("token id 40 (row 1, position 2)") && high.contains("vocab_size"), high);
        String negative = refusal(List.of(new int[] {2, -3, 4}));
        assertTrue(negative.contains("token id -3 (row 0, position 1)"), negative);
    }

    @Test
    void rowsLongerThanThePositionsAreRefused() {
        String longRow = refusal(List.of(new int[] {2, 3}, new int[] {2, 3, 4, 5, 6, 7, 8}));
        assertTrue(longRow.contains("row 1 has 7 tokens") && longRow.contains("max_position_embeddings"), longRow);
    }

    @Test
    void aBatchThatFitsIsAccepted() {
        try (NDManager m = DjlRuntime.newManager(); OptModel model = OptModel.random(CONFIG, 1);
             TokenBatch batch = TokenBatch.of(m, List.of(new int[] {0, 39, 2, 3, 4, 5}), null, 1)) {
            batch.requireFits(model.config());
            model.logits(batch).close();
        }
    }
}
