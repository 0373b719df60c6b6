package io.guardedtuning.data;

import java.nio.file.Path;

/** A data file that does not have the expected shape; the message names the file, the line and the field. */
public final class MalformedDataException extends RuntimeException {

    private final Path file;
    private final int line;
    private final String field;

    public MalformedDataException(Path file, int line, String field, String problem) {
        super(file + ", line " + line + (field == null ? "" : ", field '" + field + "'") + ": " + problem);
        this.file = file;
        this.line = line;
        this.field = field;
    }

    public Path file() {
        return file;
    }

    public int line() {
        return line;
    }

    /** The offending field, or null when the line itself could not be parsed. */
    public String field() {
        return field;
    }
}
