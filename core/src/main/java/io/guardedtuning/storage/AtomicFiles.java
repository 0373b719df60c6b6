package io.guardedtuning.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.UUID;

/**
 * Crash-safe writes: content goes to a hidden temporary sibling, is fsynced, and only then renamed to its final name,
 * so a reader (or a restart after a crash) sees either the old content or the complete new one. Files and
 * directories get the permissions the process's umask gives (a model written for a reader running as another user
 * stays readable), except secrets written with {@link #writePrivate}, which only the owner may read.
 */
public final class AtomicFiles {

    @FunctionalInterface
    public interface ChannelWriter {
        void writeTo(FileChannel channel) throws IOException;
    }

    @FunctionalInterface
    public interface DirectoryWriter {
        void writeInto(Path directory) throws IOException;
    }

    private AtomicFiles() {
    }

    public static void write(Path target, ChannelWriter writer) throws IOException {
        write(target, writer, false);
    }

    /** Writes a secret (a private key): owner read/write only where the file system has POSIX permissions. */
    public static void writePrivate(Path target, byte[] content) throws IOException {
        write(target, bytesWriter(content), true);
    }

    private static void write(Path target, ChannelWriter writer, boolean ownerOnly) throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path temp = dir.resolve("." + target.getFileName() + "." + UUID.randomUUID() + ".tmp");
        boolean posix = Files.getFileStore(dir).supportsFileAttributeView(PosixFileAttributeView.class);
        if (ownerOnly && posix) {
            Files.createFile(temp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        } else {
            Files.createFile(temp);
        }
        boolean renamed = false;
        try {
            try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING)) {
                writer.writeTo(channel);
                channel.force(true);
            }
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            renamed = true;
            syncDirectory(dir);
        } finally {
            if (!renamed) {
                Files.deleteIfExists(temp);
            }
        }
    }

    public static void write(Path target, byte[] content) throws IOException {
        write(target, bytesWriter(content));
    }

    private static ChannelWriter bytesWriter(byte[] content) {
        return channel -> {
            ByteBuffer buffer = ByteBuffer.wrap(content);
            while (buffer.hasRemaining()) {
                channel.write(buffer);
            }
        };
    }

    /**
     * Builds a directory in a temporary sibling and renames it to {@code target}. An existing target is first moved
     * aside and deleted only after the new one is in place. Java offers no atomic exchange of two directories, so a
     * crash between the two renames leaves no directory under the final name, but the old one survives intact as a
     * hidden {@code .name.old-*} sibling; never a mix of old and new files.
     */
    public static void replaceDirectory(Path target, DirectoryWriter writer) throws IOException {
        Path absolute = target.toAbsolutePath();
        Path parent = absolute.getParent();
        String name = absolute.getFileName().toString();
        if (Files.exists(absolute, LinkOption.NOFOLLOW_LINKS) && !Files.isDirectory(absolute, LinkOption.NOFOLLOW_LINKS)) {
            throw new IOException(absolute + " exists and is not a directory; refusing to replace it");
        }
        Files.createDirectories(parent);
        Path temp = Files.createDirectory(parent.resolve("." + name + ".tmp-" + UUID.randomUUID()));
        try {
            writer.writeInto(temp);
            syncDirectory(temp);
            if (Files.exists(absolute, LinkOption.NOFOLLOW_LINKS)) {
                Path old = parent.resolve("." + name + ".old-" + UUID.randomUUID());
                Files.move(absolute, old, StandardCopyOption.ATOMIC_MOVE);
                try {
                    Files.move(temp, absolute, StandardCopyOption.ATOMIC_MOVE);
                } catch (IOException e) {
                    Files.move(old, absolute, StandardCopyOption.ATOMIC_MOVE);
                    throw e;
                }
                syncDirectory(parent);
                deleteRecursively(old);
            } else {
                Files.move(temp, absolute, StandardCopyOption.ATOMIC_MOVE);
                syncDirectory(parent);
            }
        } catch (IOException | RuntimeException e) {
            try {
                deleteRecursively(temp);
            } catch (IOException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
    }

    /** Makes a rename durable; a no-op where the platform cannot open a directory for syncing. */
    public static void syncDirectory(Path dir) {
        FileChannel channel;
        try {
            channel = FileChannel.open(dir, StandardOpenOption.READ);
        } catch (IOException | UnsupportedOperationException e) {
            return;
        }
        try (channel) {
            channel.force(true);
        } catch (IOException e) {
            // Some file systems refuse fsync on directories; the rename itself is still atomic.
        }
    }

    public static void deleteRecursively(Path root) throws IOException {
        if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        Files.walkFileTree(root, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.delete(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path dir, IOException e) throws IOException {
                if (e != null) {
                    throw e;
                }
                Files.delete(dir);
                return FileVisitResult.CONTINUE;
            }
        });
    }
}
