package io.guardedtuning.data;

import java.util.Set;

/**
 * Turns a Brown corpus file ({@code word/tag} tokens, one sentence a line, paragraphs separated by blank lines) into
 * plain text: tags stripped, no space before closing punctuation, the corpus's {@code ``} and {@code ''} turned back
 * into double quotes.
 */
public final class BrownText {

    private static final String OPEN_QUOTE = "``";
    private static final String CLOSE_QUOTE = "''";
    private static final String SINGLE_QUOTE = "'";
    private static final Set<String> NO_SPACE_BEFORE = Set.of(".", ",", ";", ":", "?", "!", ")", "]", "}");
    private static final Set<String> NO_SPACE_AFTER = Set.of("(", "[", "{");

    private BrownText() {
    }

    /** Sentences of a paragraph joined by spaces, paragraphs by a blank line. */
    public static String toPlainText(String tagged) {
        StringBuilder text = new StringBuilder();
        for (String paragraph : tagged.strip().split("\\n\\s*\\n")) {
            String plain = paragraphToPlainText(paragraph);
            if (!plain.isEmpty()) {
                if (!text.isEmpty()) {
                    text.append("\n\n");
                }
                text.append(plain);
            }
        }
        return text.toString();
    }

    /** The word of a {@code word/tag} token; the tag follows the last slash because words like 1-1/2 hold slashes. */
    public static String stripTag(String token) {
        int slash = token.lastIndexOf('/');
        return slash > 0 ? token.substring(0, slash) : token;
    }

    private static String paragraphToPlainText(String paragraph) {
        StringBuilder out = new StringBuilder();
        boolean glueNext = true;
        // The corpus marks single quotes with one token for both ends; alternate within the paragraph.
        boolean singleQuoteOpen = false;
        for (String token : paragraph.strip().split("\\s+")) {
            if (token.isEmpty()) {
                continue;
            }
            String word = stripTag(token);
            boolean opens;
            boolean closes;
            if (word.equals(OPEN_QUOTE)) {
                word = "\"";
                opens = true;
                closes = false;
            } else if (word.equals(CLOSE_QUOTE)) {
                word = "\"";
                opens = false;
                closes = true;
            } else if (word.equals(SINGLE_QUOTE)) {
                singleQuoteOpen = !singleQuoteOpen;
                opens = singleQuoteOpen;
                closes = !singleQuoteOpen;
            } else {
                opens = NO_SPACE_AFTER.contains(word);
                closes = NO_SPACE_BEFORE.contains(word);
            }
            if (!glueNext && !closes) {
                out.append(' ');
            }
            out.append(word);
            glueNext = opens;
        }
        return out.toString();
    }
}
