package io.guardedtuning.checkpoint;

import java.io.IOException;

/** A checkpoint file or directory whose content is invalid; the message names the file and, where known, the tensor. */
public class CheckpointFormatException extends IOException {

    public CheckpointFormatException(String message) {
        super(message);
    }

    public CheckpointFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
