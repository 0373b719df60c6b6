package io.guardedtuning.tokenizer;

import java.io.IOException;

/** A tokenizer file that was read but does not make a valid tokenizer; the message names the file and the field. */
public class TokenizerFormatException extends IOException {

    public TokenizerFormatException(String source, String problem) {
        super(source + ": " + problem);
    }
}
