package io.guardedtuning.deploy.local;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.guardedtuning.privacy.PrivacyWarmup;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * A resumed frontier keeps only the cells today's attackers measured (a weaker attacker's cell is measured again), and
 * its defences parse to the recipes a client would run.
 */
class FrontierCellsTest {

    private static final String ATTACKERS = "SIP 2000 steps, BiSR(f) 100 steps";

    private static Frontier.Cell cell(String defence, String attackers) {
        return cell(defence, attackers, 0.7, 0.72, 0.3);
    }

    private static Frontier.Cell cell(String defence, String attackers, double accuracy, double centralized,
                                      double leakage) {
        return new Frontier.Cell("spam-assassin", "online", defence, 1e-4f, 3, accuracy, centralized,
                new double[] {-0.1, 0.1}, leakage, 0.05, "SIP", true, 0, 8, new double[] {accuracy},
                new double[] {centralized}, 15, 500, attackers, 0.5);
    }

    @Test
    void theGoalNeedsCentralizedTuningToBeatChance() {
        assertTrue(cell("warmup:32", ATTACKERS, 0.70, 0.71, 0.24).meetsGoal());
        // 1500 answers at chance 0.5: the standard error is 0.013, so 0.52 is within two of chance.
        assertFalse(cell("warmup:32", ATTACKERS, 0.55, 0.52, 0.24).meetsGoal());
        assertFalse(cell("warmup:32", ATTACKERS, 0.70, 0.72, 0.31).meetsGoal());
        assertFalse(cell("warmup:32", ATTACKERS, 0.70, 0.72, 0.24).meetsGoal());
    }

    @Test
    void onlyCellsOfTheSameAttackersOverAsManySeedsAreKept() {
        List<Frontier.Cell> cells = List.of(cell("none", ATTACKERS), cell("warmup", null),
                cell("warmup:32", "SIP 500 steps, BiSR(f) 100 steps"));
        assertEquals(Set.of("spam-assassin|online|none|1.0E-4"), Frontier.measuredBy(ATTACKERS, 1, cells));
        assertEquals(Set.of(), Frontier.measuredBy(ATTACKERS, 6, cells), "a sweep over more seeds runs it again");
    }

    @Test
    void aCellWrittenBeforeAttackersWereRecordedReadsWithoutThemAndIsMeasuredAgain() throws Exception {
        ObjectMapper json = new ObjectMapper();
        String old = json.writeValueAsString(cell("warmup", ATTACKERS, 0.70, 0.71, 0.24)).replace(",\"attackers\":\""
                + ATTACKERS + "\"", "").replace(",\"chance\":0.5", "");
        Frontier.Cell read = json.readValue(old, Frontier.Cell.class);
        assertNull(read.attackers());
        assertNull(read.chance());
        assertFalse(read.meetsGoal(), "without a chance level the goal cannot be shown");
        assertEquals(Set.of(), Frontier.measuredBy(ATTACKERS, 1, List.of(read)));
    }

    @Test
    void theReportGreysCellsOtherAttackersMeasuredAndNeverShowsThemMeetingTheGoal() {
        Frontier.Cell latest = cell("warmup:32", ATTACKERS, 0.70, 0.71, 0.24);
        Frontier.Cell older = cell("warmup:16", "SIP 2000 steps", 0.70, 0.71, 0.24);
        assertTrue(older.meetsGoal(), "its own numbers meet the goal");
        String html = FrontierReport.render(List.of(latest, older), ATTACKERS);
        assertTrue(html.contains("<tr class=\"goal\"><td>spam-assassin</td><td>online</td><td>warmup:32</td>"), html);
        assertTrue(html.contains("<tr class=\"older\"><td>spam-assassin</td><td>online</td><td>warmup:16</td>"), html);
        assertTrue(html.contains("warmup:16 lr 0.000100000 (older attackers)"), html);
        assertFalse(html.contains("warmup:32 lr 0.000100000 (older attackers)"), html);
    }

    @Test
    void aWarmupDefenceSetsItsWeightTheScaleOfItsSecretStartAndItsSteps() {
        Frontier.Defence d = Frontier.Defence.parse("warmup:32:0.5+noise:1", 200);
        assertEquals(new PrivacyWarmup.Recipe(200, 1e-3f, 32f, 0.5f, 8), d.warmup());
        assertEquals(1f, d.relativeNoise());
        assertEquals(PrivacyWarmup.Recipe.dcorLm(200, 8f), Frontier.Defence.parse("warmup", 200).warmup());
        assertEquals(new PrivacyWarmup.Recipe(600, 1e-3f, 32f, 2f, 8),
                Frontier.Defence.parse("warmup:32:2:600", 200).warmup());
        assertEquals(new PrivacyWarmup.Recipe(200, 1e-3f, 32f, 2f, 8, 0, true),
                Frontier.Defence.parse("warmup-kd:32:2", 200).warmup());
        assertEquals(new PrivacyWarmup.Recipe(200, 1e-3f, 32f, 2f, 8, 0, false, 4),
                Frontier.Defence.parse("warmup:32:2:200:4", 200).warmup());
        assertEquals(new PrivacyWarmup.Recipe(200, 1e-3f, 32f, 2f, 8, 0, false, 4, 0.5f, 0f),
                Frontier.Defence.parse("warmup:32:2:200:4:0.5", 200).warmup());
        assertEquals(new PrivacyWarmup.Recipe(200, 1e-3f, 32f, 2f, 8, 0, false, 4, 0.5f, 2f),
                Frontier.Defence.parse("warmup:32:2:200:4:0.5:2", 200).warmup());
        assertThrows(IllegalArgumentException.class, () -> Frontier.Defence.parse("warmup:32+shuffle", 200));
    }
}
