package io.guardedtuning.audit.service;

import io.guardedtuning.audit.config.AuditConfig;
import io.guardedtuning.checkpoint.ModelCatalog;
import io.guardedtuning.model.OptConfig;
import io.guardedtuning.tokenizer.BpeTokenizer;
import io.smallrye.config.WithDefault;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Properties;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The default attacker must see all the public text there is, in rows that start like the client's. */
class AuxiliaryTextTest {

    /** Rows the whole held-out split makes at 256 tokens (docs/attacks.md): the cap must not cut it back. */
    private static final int HELD_OUT_ROWS = 938;

    @Test
    void defaultsTakeTheWholeHeldOutSplitAtTheClientsRowLength() throws Exception {
        Properties production = new Properties();
        try (InputStream in = AuxiliaryText.class.getResourceAsStream("/application.properties")) {
            production.load(in);
        }
        assertEquals("true", production.getProperty("gt.audit.auxiliary.corpus"));
        assertEquals("true", defaultOf("corpus"));
        assertTrue(Integer.parseInt(defaultOf("maxSequences")) >= HELD_OUT_ROWS, "max-sequences cuts the split");
        assertEquals("256", defaultOf("sequenceTokens"));
    }

    @Test
    void everyRowStartsWithTheBosTokenLikeTheClientsRows() throws Exception {
        Path dir = ModelCatalog.resolve("gt-tiny-opt");
        OptConfig config = OptConfig.read(dir.resolve("config.json"));
        List<int[]> rows = AuxiliaryText.load(false, 4096, 48, config.bosTokenId(), BpeTokenizer.fromDirectory(dir));
        assertTrue(rows.size() > 10, "rows: " + rows.size());
        for (int[] row : rows) {
            assertEquals(config.bosTokenId(), row[0]);
            assertTrue(row.length <= 48);
        }
    }

    private static String defaultOf(String method) throws NoSuchMethodException {
        return AuditConfig.Auxiliary.class.getMethod(method).getAnnotation(WithDefault.class).value();
    }
}
