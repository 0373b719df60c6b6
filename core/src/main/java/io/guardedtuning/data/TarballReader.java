package io.guardedtuning.data;

import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorInputStream;

import java.io.BufferedInputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.function.Predicate;

/** Streams the entries of a {@code .tgz} without extracting it; npm tarballs put everything under {@code package/}. */
public final class TarballReader {

    /** Receives one matching entry; the stream holds just that entry and must not be kept after the call. */
    @FunctionalInterface
    public interface EntryVisitor {
        void visit(String path, InputStream content) throws IOException;
    }

    private TarballReader() {
    }

    /** Visits, in archive order, every regular file whose path starts with {@code prefix} and ends with {@code suffix}. */
    public static void forEachEntry(Path tarball, String prefix, String suffix, EntryVisitor visitor) throws IOException {
        forEachEntry(tarball, path -> path.startsWith(prefix) && path.endsWith(suffix), visitor);
    }

    /** Visits, in archive order, every regular file whose path the filter accepts. */
    public static void forEachEntry(Path tarball, Predicate<String> pathFilter, EntryVisitor visitor) throws IOException {
        try (InputStream file = new BufferedInputStream(Files.newInputStream(tarball));
             GzipCompressorInputStream gunzip = new GzipCompressorInputStream(file);
             TarArchiveInputStream tar = new TarArchiveInputStream(gunzip)) {
            TarArchiveEntry entry;
            while ((entry = tar.getNextEntry()) != null) {
                if (entry.isFile() && pathFilter.test(entry.getName())) {
                    visitor.visit(entry.getName(), new UnclosableStream(tar));
                }
            }
        } catch (IOException e) {
            throw new IOException("cannot read tarball " + tarball + ": " + e.getMessage(), e);
        }
    }

    /** The matching entries decoded as UTF-8, sorted by path. */
    public static SortedMap<String, String> readTexts(Path tarball, Predicate<String> pathFilter) throws IOException {
        SortedMap<String, String> texts = new TreeMap<>();
        forEachEntry(tarball, pathFilter,
                (path, content) -> texts.put(path, new String(content.readAllBytes(), StandardCharsets.UTF_8)));
        return texts;
    }

    /** Keeps a visitor (or a JSON parser it hands the stream to) from closing the whole archive. */
    private static final class UnclosableStream extends FilterInputStream {
        UnclosableStream(InputStream in) {
            super(in);
        }

        @Override
        public void close() {
        }
    }
}
