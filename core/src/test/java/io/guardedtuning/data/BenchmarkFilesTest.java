package io.guardedtuning.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BenchmarkFilesTest {

    @TempDir
    Path dir;

    @Test
    void piqaTakesLabelsFromTheLabelsFile() throws IOException {
        Path file = write("valid.jsonl", """
                {"goal": "Open a jar", "sol1": "Twist the lid.", "sol2": "Hit it with a spoon."}

                {"goal": "Dry wet shoes", "sol1": "Put them in the oven.", "sol2": "Stuff them with newspaper."}
                """);
        write("valid-labels.lst", "0\n1\n");

        List<McExample> examples = BenchmarkFiles.readPiqa(file);

        assertEquals(2, examples.size());
        McExample first = examples.get(0);
        assertEquals("Question: Open a jar\nAnswer:", first.context());
        assertEquals(List.of(" Twist the lid.", " Hit it with a spoon."), first.choices());
        assertEquals(0, first.label());
        assertEquals(" Stuff them with newspaper.", examples.get(1).correctChoice());
        assertEquals("valid.jsonl:3", examples.get(1).id());
    }

    @Test
    void piqaTakesALabelField() throws IOException {
        Path file = write("mine.jsonl", "{\"goal\": \"g\", \"sol1\": \"a\", \"sol2\": \"b\", \"label\": 1}\n");

        assertEquals(" b", BenchmarkFiles.readPiqa(file).get(0).correctChoice());
    }

    @Test
    void piqaWithoutAnyLabelsNamesTheMissingLabelsFile() throws IOException {
        Path file = write("test.jsonl", "{\"goal\": \"g\", \"sol1\": \"a\", \"sol2\": \"b\"}\n");

        IOException error = assertThrows(IOException.class, () -> BenchmarkFiles.readPiqa(file));

        assertTrue(error.getMessage().contains("test-labels.lst"), error.getMessage());
    }

    @Test
    void sciqPutsTheCorrectAnswerAtAFixedPerItemPosition() throws IOException {
        StringBuilder json = new StringBuilder("[\n");
        for (int i = 0; i < 12; i++) {
            json.append(i == 0 ? "" : ",\n").append("{\"question\": \"Q").append(i)
                    .append("?\", \"distractor1\": \"d1\", \"distractor2\": \"d2\", \"distractor3\": \"d3\", ")
                    .append("\"correct_answer\": \"right\", \"support\": \"  Fact ").append(i).append(".\"}");
        }
        Path file = write("sciq.json", json.append("\n]\n").toString());

        List<McExample> examples = BenchmarkFiles.readSciq(file);

        assertEquals(12, examples.size());
        assertEquals("Fact 0.\nQuestion: Q0?\nAnswer:", examples.get(0).context());
        assertEquals("sciq.json:2", examples.get(0).id());
        Set<Integer> positions = new HashSet<>();
        for (McExample example : examples) {
            assertEquals(" right", example.correctChoice());
            assertEquals(4, example.choices().size());
            assertTrue(example.choices().containsAll(List.of(" d1", " d2", " d3")));
            positions.add(example.label());
        }
        assertTrue(positions.size() > 1, "the correct answer is not always in one place");
        assertEquals(examples, BenchmarkFiles.readSciq(file));
    }

    @Test
    void arcHandlesLetterAndNumberKeysAndOddChoiceCounts() throws IOException {
        Path file = write("ARC-Challenge-Test.jsonl", """
                {"id": "Mercury_1", "question": {"stem": "Which is a gas?", "choices": [{"text": "ice", "label": "A"}, {"text": "steam", "label": "B"}, {"text": "rock", "label": "C"}, {"text": "wood", "label": "D"}]}, "answerKey": "B"}
                {"id": "NYSEDREGENTS_2", "question": {"stem": "Pick three.", "choices": [{"text": "one", "label": "1"}, {"text": "two", "label": "2"}, {"text": "three", "label": "3"}]}, "answerKey": "3"}
                {"id": "MCAS_3", "question": {"stem": "Pick E.", "choices": [{"text": "a", "label": "A"}, {"text": "b", "label": "B"}, {"text": "c", "label": "C"}, {"text": "d", "label": "D"}, {"text": "e", "label": "E"}]}, "answerKey": "E"}
                """);

        List<McExample> examples = BenchmarkFiles.readArc(file);

        assertEquals("Question: Which is a gas?\nAnswer:", examples.get(0).context());
        assertEquals("Mercury_1", examples.get(0).id());
        assertEquals(1, examples.get(0).label());
        assertEquals(" steam", examples.get(0).correctChoice());
        assertEquals(3, examples.get(1).choices().size());
        assertEquals(2, examples.get(1).label());
        assertEquals(5, examples.get(2).choices().size());
        assertEquals(4, examples.get(2).label());
    }

    @Test
    void openBookQaUsesTheBareStem() throws IOException {
        Path file = write("test.jsonl", "{\"id\": \"8-343\", \"question\": {\"stem\": \"A magnet will stick to\", "
                + "\"choices\": [{\"text\": \"wood\", \"label\": \"A\"}, {\"text\": \"a nail\", \"label\": \"B\"}, "
                + "{\"text\": \"glass\", \"label\": \"C\"}, {\"text\": \"paper\", \"label\": \"D\"}]}, \"answerKey\": \"B\"}\n");

        McExample example = BenchmarkFiles.readOpenBookQa(file).get(0);

        assertEquals("A magnet will stick to", example.context());
        assertEquals(" a nail", example.correctChoice());
    }

    @Test
    void hellaSwagBuildsThePromptLikeLmEvalHarness() throws IOException {
        Path file = write("hellaswag_val.jsonl", """
                {"ind": 24, "activity_label": "Roof shingle removal", "ctx_a": "A man is sitting on a roof.", "ctx_b": "he", "ctx": "A man is sitting on a roof. he", "endings": ["is using wrap to wrap a pair of skis.", "is ripping level tiles off.", "is holding a rubik's cube.", "starts pulling up roofing on a roof."], "label": 3}
                {"activity_label": "Baking", "ctx": "[header] How to bake [title] Mix flour.", "endings": ["a", "b", "c", "d"], "label": 0}
                """);

        List<McExample> examples = BenchmarkFiles.readHellaSwag(file);

        McExample first = examples.get(0);
        assertEquals("Roof shingle removal: A man is sitting on a roof. He", first.context());
        assertEquals(" starts pulling up roofing on a roof.", first.correctChoice());
        assertEquals("hellaswag_val.jsonl:24", first.id());
        assertEquals("Baking: How to bake. Mix flour.", examples.get(1).context());
    }

    @Test
    void malformedJsonNamesFileAndLine() throws IOException {
        Path file = write("broken.jsonl", "{\"goal\": \"g\", \"sol1\": \"a\", \"sol2\": \"b\", \"label\": 0}\n{not json\n");

        MalformedDataException error = assertThrows(MalformedDataException.class, () -> BenchmarkFiles.readPiqa(file));

        assertEquals(2, error.line());
        assertTrue(error.getMessage().contains("broken.jsonl") && error.getMessage().contains("line 2"),
                error.getMessage());
    }

    @Test
    void missingFieldNamesFileLineAndField() throws IOException {
        Path piqa = write("piqa.jsonl", "{\"goal\": \"g\", \"sol1\": \"a\", \"sol2\": \"b\", \"label\": 0}\n"
                + "{\"goal\": \"g\", \"sol1\": \"a\", \"label\": 1}\n");
        assertNames(assertThrows(MalformedDataException.class, () -> BenchmarkFiles.readPiqa(piqa)),
                "piqa.jsonl", 2, "sol2");

        Path arc = write("arc.jsonl", "{\"id\": \"x\", \"question\": {\"stem\": \"s\", \"choices\": "
                + "[{\"text\": \"a\", \"label\": \"A\"}, {\"text\": \"b\", \"label\": \"B\"}]}, \"answerKey\": \"C\"}\n");
        assertNames(assertThrows(MalformedDataException.class, () -> BenchmarkFiles.readArc(arc)),
                "arc.jsonl", 1, "answerKey");

        Path obqa = write("obqa.jsonl", "\n{\"id\": \"x\", \"question\": {\"choices\": []}, \"answerKey\": \"A\"}\n");
        assertNames(assertThrows(MalformedDataException.class, () -> BenchmarkFiles.readOpenBookQa(obqa)),
                "obqa.jsonl", 2, "question.stem");

        Path sciq = write("sciq.json", "[\n  {\"question\": \"q\", \"distractor1\": \"a\", \"distractor2\": \"b\",\n"
                + "   \"distractor3\": \"c\", \"correct_answer\": \"d\"},\n  {\"question\": \"q2\", \"distractor1\": \"a\","
                + " \"distractor2\": \"b\", \"distractor3\": \"c\"}\n]\n");
        assertNames(assertThrows(MalformedDataException.class, () -> BenchmarkFiles.readSciq(sciq)),
                "sciq.json", 4, "correct_answer");

        Path hellaswag = write("hs.jsonl", "{\"ctx\": \"c\", \"endings\": [\"a\", \"b\", \"c\", \"d\"], \"label\": \"\"}\n");
        assertNames(assertThrows(MalformedDataException.class, () -> BenchmarkFiles.readHellaSwag(hellaswag)),
                "hs.jsonl", 1, "label");

        Path labels = write("bad.jsonl", "{\"goal\": \"g\", \"sol1\": \"a\", \"sol2\": \"b\"}\n");
        write("bad-labels.lst", "2\n");
        assertNames(assertThrows(MalformedDataException.class, () -> BenchmarkFiles.readPiqa(labels)),
                "bad-labels.lst", 1, "label");
    }

    private static void assertNames(MalformedDataException error, String fileName, int line, String field) {
        String message = error.getMessage();
        assertEquals(fileName, error.file().getFileName().toString(), message);
        assertEquals(line, error.line(), message);
        assertEquals(field, error.field(), message);
        assertTrue(message.contains(fileName) && message.contains("line " + line) && message.contains("'" + field + "'"),
                message);
    }

    private Path write(String name, String content) throws IOException {
        return Files.writeString(dir.resolve(name), content);
    }
}
