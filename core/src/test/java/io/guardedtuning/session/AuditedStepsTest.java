package io.guardedtuning.session;

import io.guardedtuning.metrics.TextLeakage;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.BitSet;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The client's own audit scoring: its rows by (pass, step), the chance floor, the headline, the payloads. */
class AuditedStepsTest {

    static final List<int[]> TRAIN_0 = List.of(new int[] {2, 10, 11, 12, 13}, new int[] {2, 20, 21, 22});
    static final List<int[]> TRAIN_1 = List.of(new int[] {2, 30, 31, 32, 33}, new int[] {2, 40, 41, 42});
    static final List<int[]> EVAL_0 = List.of(new int[] {2, 50, 51, 52, 53}, new int[] {2, 60, 61, 62});

    static AuditProtocol.Reconstructions rebuilt(String pass, long step, List<int[]> rows) {
        return new AuditProtocol.Reconstructions(pass, step,
                List.of(new AuditProtocol.AttackReconstruction("sip", rows, 0.9, 12, "settings"),
                        new AuditProtocol.AttackReconstruction("tag", List.of(), 0, 1, "nothing to attack")), null);
    }

    @Test
    void scoresAReconstructionAgainstItsOwnPassAndStepBesideAChanceFloor() {
        AuditedSteps steps = new AuditedSteps(2, 16);
        steps.step("eval-before", 0, EVAL_0, true);
        steps.step("train", 0, TRAIN_0, true);
        steps.step("train", 1, TRAIN_1, true);

        AuditProtocol.StepScores s = steps.score("rec-1", rebuilt("train", 0, TRAIN_0));
        assertEquals(1, s.attacks().size(), "an attack that rebuilt nothing is not scored");
        AuditProtocol.AttackScores sip = s.attacks().get(0);
        assertEquals(1.0, sip.scores().rougeL(), 1e-12, "the exact rows");
        assertTrue(sip.floor().rougeL() < 0.3 && sip.floor().samples() == 2,
                "the floor compares with the step after, unrelated rows: " + sip.floor());
        assertEquals("rec-1", s.reconstruction());

        AuditProtocol.StepScores eval = steps.score("rec-2", rebuilt("eval-before", 0, TRAIN_0));
        assertTrue(eval.attacks().get(0).scores().rougeL() < 0.3,
                "evaluation step 0 is scored against its own rows, not training step 0's");
    }

    /** A step sent in micro-batches is reconstructed per part: each is scored against its own rows only. */
    @Test
    void eachMicroBatchIsScoredAgainstItsOwnRowsAndTheStepCountsAsScoredOnceAllAre() throws Exception {
        AuditedSteps steps = new AuditedSteps(1, 16);
        steps.step("train", 0, TRAIN_0, true);
        steps.step("train", 1, TRAIN_1, true);
        AuditProtocol.StepScores second = steps.score("r1", new AuditProtocol.Reconstructions("train", 0, 1,
                List.of(new AuditProtocol.AttackReconstruction("sip", List.of(TRAIN_0.get(1)), 0.9, 1, "")), null));
        assertEquals(1.0, second.attacks().get(0).scores().rougeL(), 1e-12, "row 1 against row 1");
        assertEquals(1, second.attacks().get(0).scores().samples());
        assertFalse(steps.awaitTrainingScored(Duration.ofMillis(20)), "row 0 of step 0 is not scored yet");
        AuditProtocol.StepScores first = steps.score("r0", new AuditProtocol.Reconstructions("train", 0, 0,
                List.of(new AuditProtocol.AttackReconstruction("sip", List.of(TRAIN_0.get(1)), 0.9, 1, "")), null));
        assertTrue(first.attacks().get(0).scores().rougeL() < 0.3, "row 1's text is not row 0's");
        steps.score("r2", rebuilt("train", 1, TRAIN_1));
        assertTrue(steps.awaitTrainingScored(Duration.ofMillis(20)));
        assertEquals(1.0, steps.headline().rougeL(), 1e-12, "the max over parts");
        assertEquals(2, steps.headline().scoredSteps(), "two steps, three parts");
        IllegalArgumentException outside = assertThrows(IllegalArgumentException.class, () -> steps.score("r3",
                new AuditProtocol.Reconstructions("train", 0, 1, List.of(new AuditProtocol.AttackReconstruction(
                        "sip", TRAIN_0, 0.9, 1, "")), null)));
        assertTrue(outside.getMessage().contains("does not fit its 2 rows"), outside.getMessage());
        AuditProtocol.Reconstructions back = AuditProtocol.decodeReconstructions(AuditProtocol.encode(
                new AuditProtocol.Reconstructions("train", 0, 1, List.of(), null)));
        assertEquals(1, back.firstRow());
    }

    @Test
    void aReconstructionOfAPassOrStepNotHeldIsRefusedNeverMatchedElsewhere() {
        AuditedSteps steps = new AuditedSteps(5, 16);
        steps.step("train", 0, TRAIN_0, true);
        steps.step("train", 1, TRAIN_1, true);
        IllegalArgumentException otherPass = assertThrows(IllegalArgumentException.class,
                () -> steps.score("r", rebuilt("eval-after", 0, TRAIN_0)));
        assertTrue(otherPass.getMessage().contains("no rows of pass 'eval-after' step 0"), otherPass.getMessage());
        assertThrows(IllegalArgumentException.class, () -> steps.score("r", rebuilt("train", 1, TRAIN_1)),
                "step 1 is not sampled (every 5): its rows were never kept");
        AuditedSteps gradfree = new AuditedSteps(1, 16);
        gradfree.step("train", 4, TRAIN_0, false);
        assertThrows(IllegalArgumentException.class, () -> gradfree.score("r", rebuilt("train", 4, TRAIN_0)),
                "a step whose activation never crossed cannot have been attacked");
    }

    @Test
    void theHeadlineIsTheMaxOverScoredTrainingStepsStepZeroIncluded() throws Exception {
        AuditedSteps steps = new AuditedSteps(1, 16);
        steps.step("eval-before", 0, EVAL_0, true);
        steps.step("train", 0, TRAIN_0, true);
        steps.step("train", 1, TRAIN_1, true);
        assertFalse(steps.awaitTrainingScored(Duration.ofMillis(10)), "two training steps wait for scores");
        assertNull(steps.headline());
        steps.score("a", rebuilt("eval-before", 0, EVAL_0));
        steps.score("b", rebuilt("train", 0, TRAIN_0));
        steps.score("c", rebuilt("train", 1, List.of(new int[] {2, 30, 99, 98, 97}, new int[] {2, 40, 96, 95})));
        assertTrue(steps.awaitTrainingScored(Duration.ZERO));
        AuditedSteps.Headline h = steps.headline();
        assertEquals(0, h.step());
        assertEquals("train", h.pass());
        assertEquals(1.0, h.rougeL(), 1e-12);
        assertEquals(2, h.scoredSteps(), "the evaluation step is not a training step");
    }

    @Test
    void coverageIsTheShareOfTheStepsIdsInTheAttackersPublicText() {
        AuditedSteps steps = new AuditedSteps(1, 16);
        steps.step("train", 0, TRAIN_0, true);
        BitSet vocabulary = new BitSet();
        List.of(2, 10, 11, 12, 13).forEach(vocabulary::set);
        AuditProtocol.StepScores s = steps.score("r", new AuditProtocol.Reconstructions("train", 0,
                List.of(new AuditProtocol.AttackReconstruction("sip", TRAIN_0, 1, 1, "")), vocabulary));
        assertEquals(5.0 / 8, s.coverage(), 1e-12, "ids 2,10-13 of 2,10-13,20-22");
    }

    @Test
    void heldStepsAreBounded() {
        AuditedSteps steps = new AuditedSteps(1, 2);
        for (int i = 0; i < 5; i++) {
            steps.step("train", i, TRAIN_0, true);
        }
        assertThrows(IllegalArgumentException.class, () -> steps.score("r", rebuilt("train", 0, TRAIN_0)));
        steps.score("r", rebuilt("train", 4, TRAIN_0));
    }

    @Test
    void theClientVerifiesAReconstructionEventScoresItAndSendsOnlyNumbers() {
        SessionKeys keys = new SessionKeys(new byte[32]);
        java.util.List<org.apache.kafka.clients.producer.ProducerRecord<String, byte[]>> sent =
                new java.util.ArrayList<>();
        AuditedSteps steps = new AuditedSteps(1, 8);
        steps.step("train", 0, TRAIN_0, true);
        steps.step("train", 1, TRAIN_1, true);
        ClientAudit audit = new ClientAudit(keys.forSession("s1"), "client", io.guardedtuning.wire.WireLimits
                .chunkedDefaults(), steps, sent::addAll, java.time.Clock.systemUTC());
        io.guardedtuning.wire.TensorEventWriter auditor = new io.guardedtuning.wire.TensorEventWriter("attack-audit",
                keys.forSession("s1"), io.guardedtuning.wire.WireLimits.chunkedDefaults());
        io.guardedtuning.wire.TensorEvent e = AuditProtocol.reconstructionEvent(auditor, 1000,
                rebuilt("train", 0, TRAIN_0));
        for (org.apache.kafka.clients.producer.ProducerRecord<String, byte[]> r
                : auditor.records(io.guardedtuning.messaging.Topics.sessionDown("s1"), e)) {
            org.apache.kafka.clients.consumer.ConsumerRecord<String, byte[]> in =
                    new org.apache.kafka.clients.consumer.ConsumerRecord<>(r.topic(), 0, 0, 0L,
                            org.apache.kafka.common.record.TimestampType.CREATE_TIME, 0, 0, r.key(), r.value(),
                            r.headers(), java.util.Optional.empty());
            assertTrue(ClientAudit.isReconstruction(in));
            audit.onRecord(in);
        }
        assertNull(audit.lastRefusal(), audit.lastRefusal());
        assertEquals(1, sent.size());
        assertEquals(io.guardedtuning.messaging.Topics.AUDIT_SCORES, sent.get(0).topic());
        AuditProtocol.StepScores s = AuditProtocol.decodeScores(sent.get(0).value());
        assertEquals(e.metadata().id(), s.reconstruction());
        assertEquals(1.0, s.attacks().get(0).scores().rougeL(), 1e-12);
    }

    @Test
    void payloadsRoundTripAndHostileOnesAreRefusedNamingTheField() {
        BitSet vocabulary = new BitSet();
        vocabulary.set(7);
        AuditProtocol.Reconstructions r = new AuditProtocol.Reconstructions("train", 3, List.of(
                new AuditProtocol.AttackReconstruction("sip", TRAIN_0, 0.5, 9, "d")), vocabulary);
        AuditProtocol.Reconstructions back = AuditProtocol.decodeReconstructions(AuditProtocol.encode(r));
        assertEquals(3, back.step());
        assertArrayEquals(TRAIN_0.get(1), back.attacks().get(0).sequences().get(1));
        assertEquals(vocabulary, back.auxiliaryVocabulary());

        AuditProtocol.StepScores s = new AuditProtocol.StepScores("train", 3, "id", 0.5, List.of(
                new AuditProtocol.AttackScores("sip", new TextLeakage.Scores(0.9, 0.8, 0.7, 2),
                        new TextLeakage.Scores(0.1, 0.2, 0.3, 2))));
        AuditProtocol.StepScores sBack = AuditProtocol.decodeScores(AuditProtocol.encode(s));
        assertEquals(0.7, sBack.attacks().get(0).scores().meteorExact());
        assertEquals(0.1, sBack.attacks().get(0).floor().rougeL());

        for (String bad : List.of("[]", "{\"pass\":\"Train!\",\"step\":0,\"attacks\":[]}",
                "{\"pass\":\"train\",\"step\":-1,\"attacks\":[]}",
                "{\"pass\":\"train\",\"step\":0,\"attacks\":[{\"attack\":\"sip\",\"confidence\":1,"
                        + "\"sequences\":[[1,-2]]}]}")) {
            assertThrows(IllegalArgumentException.class,
                    () -> AuditProtocol.decodeReconstructions(bad.getBytes(StandardCharsets.UTF_8)), bad);
        }
        IllegalArgumentException outOfRange = assertThrows(IllegalArgumentException.class,
                () -> AuditProtocol.decodeScores(("{\"pass\":\"train\",\"step\":0,\"reconstruction\":\"x\","
                        + "\"attacks\":[{\"attack\":\"sip\",\"rougeL\":1.5}]}").getBytes(StandardCharsets.UTF_8)));
        assertTrue(outOfRange.getMessage().contains("rougeL"), outOfRange.getMessage());
    }
}
