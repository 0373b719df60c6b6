package io.guardedtuning.data;

/** Small text clean-ups shared by the task builders. */
final class TextUtil {

    private TextUtil() {
    }

    /** At most {@code maxChars} characters, cut at the last whitespace so that no word is split. */
    static String truncateAtWord(String text, int maxChars) {
        if (text.length() <= maxChars) {
            return text;
        }
        int cut = maxChars;
        while (cut > 0 && !Character.isWhitespace(text.charAt(cut))) {
            cut--;
        }
        // A single word longer than the budget: cutting it is better than returning nothing.
        return (cut == 0 ? text.substring(0, maxChars) : text.substring(0, cut)).strip();
    }

    /** Runs of whitespace (newlines included) become one space. */
    static String collapseWhitespace(String text) {
        return text.replaceAll("\\s+", " ").strip();
    }
}
