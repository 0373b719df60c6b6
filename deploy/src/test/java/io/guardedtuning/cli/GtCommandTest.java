package io.guardedtuning.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GtCommandTest {

    @TempDir
    Path modelWithoutTokenizer;

    @Test
    void aModelDirectoryWithoutTokenizerFilesGetsOneLineNamingTheFile() {
        StringWriter err = new StringWriter();
        CommandLine gt = GtCommand.commandLine().setErr(new PrintWriter(err, true));
        int exit = gt.execute("eval", "--model", modelWithoutTokenizer.toString());
        assertEquals(1, exit);
        assertEquals("gt eval: " + modelWithoutTokenizer.resolve("tokenizer.json") + ": no such file: the model "
                + "directory needs tokenizer.json, or vocab.json with merges.txt", err.toString().strip());
    }

    @Test
    void anUnknownAuditAttackIsAUsageErrorBeforeAnythingStarts() {
        StringWriter err = new StringWriter();
        CommandLine gt = GtCommand.commandLine().setErr(new PrintWriter(err, true));
        int exit = gt.execute("run", "--design", "online", "--audit-attacks", "sip,eia,guess");
        assertEquals(2, exit, err.toString());
        assertTrue(err.toString().contains("unknown attack 'guess'") && err.toString().contains("bisr-b"),
                err.toString());
    }
}
