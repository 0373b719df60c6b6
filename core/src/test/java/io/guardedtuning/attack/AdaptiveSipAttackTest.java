package io.guardedtuning.attack;

import io.guardedtuning.model.OptModel;
import io.guardedtuning.model.OptParameters;
import io.guardedtuning.privacy.ClientDefence;
import io.guardedtuning.privacy.PrivacyWarmup;
import io.guardedtuning.tensor.HostTensor;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * The adaptive attacker's shadow replays every defence announced: a privacy warm-up is run from the provider's own
 * seed (the client's is secret) before any drift, for Online and Gradfree alike, on the rows the recipe announces,
 * and the client's own leakage check attacks itself with that very shadow. If the auditor stopped
 * replaying the warm-up, or replayed it on other text, this fails.
 */
class AdaptiveSipAttackTest {

    static final PrivacyWarmup.Recipe WARMUP = new PrivacyWarmup.Recipe(6, 3e-3f, 8f, 0.05f, 4);

    @Test
    void theShadowOfAWarmedUpClientIsThePretrainedCopyWarmedUpFromTheProvidersSeed() {
        Map<String, HostTensor> pretrained = OptModel.randomTensors(AttackTest.CONFIG, 5, n -> true);
        List<int[]> aux = ClientSimulation.randomSequences(new Random(1), 40, 8, 16, AttackTest.CONFIG.vocabSize());
        List<int[]> warmupRows = ClientSimulation.randomSequences(new Random(2), 20, 8, 12,
                AttackTest.CONFIG.vocabSize());
        PrivacyWarmup.Recipe announced = WARMUP.withPublicRows(40);
        // The recipe replayed by hand: the client's warm-up rows, the provider's seed, the pretrained middle as
        // stand-in.
        Map<String, HostTensor> replayed;
        try (OptModel replay = OptModel.fromTensors(AttackTest.CONFIG, pretrained)) {
            PrivacyWarmup.run(announced, replay, replay, AttackTest.SPLIT, warmupRows, ClientDefence.SHADOW_SEED);
            replayed = replay.toTensors(AttackTest.SPLIT.client());
        }
        ShadowAdapters.Settings settings = new ShadowAdapters.Settings(4, 1e-3f, 3);
        try (ThreatModel tm = ThreatModel.of(AttackTest.CONFIG, AttackTest.SPLIT, pretrained, aux,
                ThreatModel.LossNormalisation.MEAN_OVER_TARGETS, WireDefence.NONE,
                recipe -> recipe.publicRows() == 40 ? warmupRows : List.of())) {
            for (String design : new String[] {"online", "gradfree"}) {
                KnownDefence known = new KnownDefence(design, 0, 0f, 0f, 1e-3f, announced.spec());
                try (OptModel shadow = ShadowAdapters.tune(tm, known, 0, settings)) {
                    Map<String, HostTensor> got = shadow.toTensors(AttackTest.SPLIT.client());
                    replayed.forEach((n, t) -> assertArrayEquals(t.data(), got.get(n).data(), 1e-6f,
                            design + " " + n));
                    // What the client's own check attacks itself with (ForwardLeakageProbe) is this very shadow.
                    assertEquals(got.keySet(), AdaptiveSipAttack.warmedDraw(tm, announced, 0).keySet());
                    AdaptiveSipAttack.warmedDraw(tm, announced, 0).forEach((n, t) -> assertArrayEquals(
                            got.get(n).data(), t.data(), design + " " + n));
                    String moved = OptParameters.layer(0) + "fc1.weight";
                    assertFalse(Arrays.equals(pretrained.get(moved).data(), got.get(moved).data()),
                            "the warm-up moved the shadow's input adapter");
                }
            }
            // A recipe that announces no rows is replayed on the auxiliary text.
            Map<String, HostTensor> onAuxiliary;
            try (OptModel replay = OptModel.fromTensors(AttackTest.CONFIG, pretrained)) {
                PrivacyWarmup.run(WARMUP, replay, replay, AttackTest.SPLIT, aux, ClientDefence.SHADOW_SEED);
                onAuxiliary = replay.toTensors(AttackTest.SPLIT.client());
            }
            try (OptModel shadow = ShadowAdapters.tune(tm, new KnownDefence("online", 0, 0f, 0f, 1e-3f,
                    WARMUP.spec()), 0, settings)) {
                Map<String, HostTensor> got = shadow.toTensors(AttackTest.SPLIT.client());
                onAuxiliary.forEach((n, t) -> assertArrayEquals(t.data(), got.get(n).data(), 1e-6f, n));
            }
        }
    }
}
