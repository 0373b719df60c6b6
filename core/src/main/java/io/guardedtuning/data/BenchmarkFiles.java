package io.guardedtuning.data;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Readers for the public release files of the benchmarks that no package registry carries. Each maps items to
 * {@link McExample} with the prompt lm-eval-harness uses for that task, choices prefixed by its target delimiter
 * (a space). Ids are {@code <file name>:<line>} unless the file has its own ids. Every item needs a label.
 */
public final class BenchmarkFiles {

    private static final ObjectMapper JSON = new ObjectMapper();

    private BenchmarkFiles() {
    }

    /** One parsed JSON object and the line it started on. */
    private record Item(JsonNode node, Path file, int line) {

        String text(String field) {
            JsonNode value = node.get(field);
            if (value == null || !value.isValueNode() || value.isNull()) {
                throw new MalformedDataException(file, line, field, "missing or not a string");
            }
            return value.asText();
        }

        boolean has(String field) {
            return node.hasNonNull(field);
        }

        String id() {
            return has("id") ? text("id") : file.getFileName() + ":" + line;
        }
    }

    /**
     * PIQA: JSONL {@code {goal, sol1, sol2}}; labels from a {@code label} field or else, as in the official
     * release, from {@code <base>-labels.lst} next to {@code <base>.jsonl}, one 0/1 per line.
     * Prompt {@code "Question: {goal}\nAnswer:"}, choices {@code " {sol1}", " {sol2}"}.
     */
    public static List<McExample> readPiqa(Path file) throws IOException {
        List<Item> items = readJsonLines(file);
        List<Integer> labelsFromFile = items.stream().allMatch(item -> item.has("label"))
                ? null : readPiqaLabels(piqaLabelsFile(file), items.size());
        List<McExample> examples = new ArrayList<>();
        for (int i = 0; i < items.size(); i++) {
            Item item = items.get(i);
            int label = labelsFromFile == null ? intLabel(item, "label", 2) : labelsFromFile.get(i);
            examples.add(new McExample(item.id(), "Question: " + item.text("goal") + "\nAnswer:",
                    List.of(" " + item.text("sol1"), " " + item.text("sol2")), label));
        }
        return examples;
    }

    /** {@code valid.jsonl} → {@code valid-labels.lst}, as the PIQA release names them. */
    public static Path piqaLabelsFile(Path jsonl) {
        String name = jsonl.getFileName().toString();
        String base = name.endsWith(".jsonl") ? name.substring(0, name.length() - ".jsonl".length()) : name;
        return jsonl.resolveSibling(base + "-labels.lst");
    }

    /**
     * SciQ: a JSON array of {@code {question, distractor1, distractor2, distractor3, correct_answer, support}}.
     * Prompt {@code "{support}\nQuestion: {question}\nAnswer:"} (support with leading whitespace stripped, as
     * lm-eval-harness does). The correct answer is put at position hash(id) mod 4 among the distractors, so its
     * place is fixed per item but not always last.
     */
    public static List<McExample> readSciq(Path file) throws IOException {
        List<McExample> examples = new ArrayList<>();
        for (Item item : readJsonArray(file)) {
            List<String> choices = new ArrayList<>(List.of(" " + item.text("distractor1"),
                    " " + item.text("distractor2"), " " + item.text("distractor3")));
            String id = item.id();
            int label = StableHash.bucket("sciq", id + "/" + item.text("question"), 4);
            choices.add(label, " " + item.text("correct_answer"));
            String support = item.has("support") ? item.text("support").stripLeading() : "";
            examples.add(new McExample(id, support + "\nQuestion: " + item.text("question") + "\nAnswer:",
                    choices, label));
        }
        return examples;
    }

    /**
     * ARC-Easy / ARC-Challenge: JSONL {@code {id, question: {stem, choices: [{text, label}]}, answerKey}}, labels
     * A–E or 1–5, 3 to 5 choices. Prompt {@code "Question: {stem}\nAnswer:"}, choices {@code " {text}"}.
     */
    public static List<McExample> readArc(Path file) throws IOException {
        List<McExample> examples = new ArrayList<>();
        for (Item item : readJsonLines(file)) {
            examples.add(questionWithChoices(item, "Question: " + stem(item) + "\nAnswer:"));
        }
        return examples;
    }

    /** OpenBookQA: the same JSONL shape as ARC; the prompt is the bare question stem, as in lm-eval-harness. */
    public static List<McExample> readOpenBookQa(Path file) throws IOException {
        List<McExample> examples = new ArrayList<>();
        for (Item item : readJsonLines(file)) {
            examples.add(questionWithChoices(item, stem(item)));
        }
        return examples;
    }

    /**
     * HellaSwag: JSONL {@code {ctx, endings[4], label}}, optionally with {@code activity_label}, {@code ctx_a},
     * {@code ctx_b}. Prompt as lm-eval-harness builds it: {@code "{activity_label}: {ctx_a} {Ctx_b}"} (or
     * {@code ctx}), with {@code [title]} turned into ". " and other bracketed markers removed; choices
     * {@code " {ending}"} cleaned the same way. The official test split has no labels and is rejected.
     */
    public static List<McExample> readHellaSwag(Path file) throws IOException {
        List<McExample> examples = new ArrayList<>();
        for (Item item : readJsonLines(file)) {
            String context = item.has("ctx_a") && item.has("ctx_b")
                    ? item.text("ctx_a") + " " + capitalize(item.text("ctx_b"))
                    : item.text("ctx");
            if (item.has("activity_label")) {
                context = item.text("activity_label") + ": " + context;
            }
            JsonNode endings = item.node().get("endings");
            if (endings == null || !endings.isArray() || endings.size() < 2) {
                throw new MalformedDataException(item.file(), item.line(), "endings", "missing or not a list of endings");
            }
            List<String> choices = new ArrayList<>();
            for (JsonNode ending : endings) {
                if (!ending.isTextual()) {
                    throw new MalformedDataException(item.file(), item.line(), "endings", "an ending is not a string");
                }
                choices.add(" " + cleanHellaSwag(ending.asText()));
            }
            String id = item.has("ind") ? file.getFileName() + ":" + item.text("ind") : item.id();
            examples.add(new McExample(id, cleanHellaSwag(context), choices, intLabel(item, "label", choices.size())));
        }
        return examples;
    }

    private static String stem(Item item) {
        JsonNode stem = item.node().path("question").get("stem");
        if (stem == null || !stem.isTextual()) {
            throw new MalformedDataException(item.file(), item.line(), "question.stem", "missing or not a string");
        }
        return stem.asText();
    }

    private static McExample questionWithChoices(Item item, String context) {
        JsonNode choiceNodes = item.node().path("question").get("choices");
        if (choiceNodes == null || !choiceNodes.isArray() || choiceNodes.size() < 2) {
            throw new MalformedDataException(item.file(), item.line(), "question.choices", "missing or fewer than 2 choices");
        }
        String answerKey = item.text("answerKey").strip();
        List<String> choices = new ArrayList<>();
        int label = -1;
        for (int i = 0; i < choiceNodes.size(); i++) {
            JsonNode choice = choiceNodes.get(i);
            JsonNode text = choice.get("text");
            JsonNode choiceLabel = choice.get("label");
            if (text == null || !text.isTextual() || choiceLabel == null || !choiceLabel.isValueNode()) {
                throw new MalformedDataException(item.file(), item.line(), "question.choices[" + i + "]",
                        "needs a text and a label");
            }
            if (choiceLabel.asText().strip().equals(answerKey)) {
                label = i;
            }
            choices.add(" " + text.asText());
        }
        if (label < 0) {
            throw new MalformedDataException(item.file(), item.line(), "answerKey",
                    "'" + answerKey + "' is not the label of any choice");
        }
        return new McExample(item.id(), context, choices, label);
    }

    private static int intLabel(Item item, String field, int choices) {
        JsonNode value = item.node().get(field);
        if (value == null || value.isNull()) {
            throw new MalformedDataException(item.file(), item.line(), field, "missing (unlabelled data cannot be scored)");
        }
        int label;
        try {
            label = value.isInt() ? value.intValue() : Integer.parseInt(value.asText().strip());
        } catch (NumberFormatException e) {
            throw new MalformedDataException(item.file(), item.line(), field, "not an integer: " + value);
        }
        if (label < 0 || label >= choices) {
            throw new MalformedDataException(item.file(), item.line(), field,
                    label + " is outside 0.." + (choices - 1));
        }
        return label;
    }

    private static List<Integer> readPiqaLabels(Path labelsFile, int expected) throws IOException {
        List<String> lines;
        try {
            lines = Files.readAllLines(labelsFile, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new IOException("PIQA items have no 'label' field and the labels file " + labelsFile
                    + " does not exist", e);
        }
        List<Integer> labels = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (line.isEmpty()) {
                continue;
            }
            if (!line.equals("0") && !line.equals("1")) {
                throw new MalformedDataException(labelsFile, i + 1, "label", "expected 0 or 1, got '" + line + "'");
            }
            labels.add(Integer.parseInt(line));
        }
        if (labels.size() != expected) {
            throw new IOException("labels file " + labelsFile + " has " + labels.size() + " labels for " + expected
                    + " items");
        }
        return labels;
    }

    private static List<Item> readJsonLines(Path file) throws IOException {
        List<Item> items = new ArrayList<>();
        try (BufferedReader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String line;
            int lineNumber = 0;
            while ((line = reader.readLine()) != null) {
                lineNumber++;
                if (line.isBlank()) {
                    continue;
                }
                JsonNode node;
                try {
                    node = JSON.readTree(line);
                } catch (JsonProcessingException e) {
                    throw new MalformedDataException(file, lineNumber, null, "invalid JSON: " + e.getOriginalMessage());
                }
                if (!node.isObject()) {
                    throw new MalformedDataException(file, lineNumber, null, "expected a JSON object");
                }
                items.add(new Item(node, file, lineNumber));
            }
        }
        return items;
    }

    private static List<Item> readJsonArray(Path file) throws IOException {
        List<Item> items = new ArrayList<>();
        try (JsonParser parser = JSON.createParser(file.toFile())) {
            try {
                if (parser.nextToken() != JsonToken.START_ARRAY) {
                    throw new MalformedDataException(file, parser.currentTokenLocation().getLineNr(), null,
                            "expected a JSON array of items");
                }
                JsonToken token;
                while ((token = parser.nextToken()) != JsonToken.END_ARRAY) {
                    int line = parser.currentTokenLocation().getLineNr();
                    if (token != JsonToken.START_OBJECT) {
                        throw new MalformedDataException(file, line, null, "expected a JSON object");
                    }
                    items.add(new Item(parser.readValueAsTree(), file, line));
                }
            } catch (JsonProcessingException e) {
                int line = e.getLocation() == null ? 0 : e.getLocation().getLineNr();
                throw new MalformedDataException(file, line, null, "invalid JSON: " + e.getOriginalMessage());
            }
        }
        return items;
    }

    /** Python's str.capitalize, which lm-eval-harness applies to ctx_b: first letter upper, the rest lower. */
    private static String capitalize(String text) {
        return text.isEmpty() ? text : Character.toUpperCase(text.charAt(0)) + text.substring(1).toLowerCase(Locale.ROOT);
    }

    /** lm-eval-harness's HellaSwag preprocess: "[title]" ends a sentence, other bracketed markers go. */
    private static String cleanHellaSwag(String text) {
        return text.strip().replace(" [title]", ". ").replaceAll("\\[.*?\\]", "").replace("  ", " ");
    }
}
