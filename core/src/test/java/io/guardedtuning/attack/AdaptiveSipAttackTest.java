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
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * The adaptive attacker's shadow replays every defence announced: a privacy warm-up is run from the provider's own
 * seed (the client's is secret) before any drift, for Online and Gradfree alike. If the auditor stopped replaying
 * the warm-up, its shadow would be the pretrained copy again and this fails.
 */
class AdaptiveSipAttackTest {

    static final PrivacyWarmup.Recipe WARMUP = new PrivacyWarmup.Recipe(6, 3e-3f, 8f, 0.05f, 4);

    @Test
    void theShadowOfAWarmedUpClientIsThePretrainedCopyWarmedUpFromTheProvidersSeed() {
        Map<String, HostTensor> pretrained = OptModel.randomTensors(AttackTest.CONFIG, 5, n -> true);
        List<int[]> aux = ClientSimulation.randomSequences(new Random(1), 40, 8, 16, AttackTest.CONFIG.vocabSize());
        Map<String, HostTensor> expected;
        try (OptModel replay = OptModel.fromTensors(AttackTest.CONFIG, pretrained)) {
            PrivacyWarmup.run(WARMUP, replay, replay, AttackTest.SPLIT, aux, ClientDefence.SHADOW_SEED);
            expected = replay.toTensors(AttackTest.SPLIT.client());
        }
        ShadowAdapters.Settings settings = new ShadowAdapters.Settings(4, 1e-3f, 3);
        try (ThreatModel tm = ThreatModel.of(AttackTest.CONFIG, AttackTest.SPLIT, pretrained, aux,
                ThreatModel.LossNormalisation.MEAN_OVER_TARGETS, WireDefence.NONE)) {
            for (String design : new String[] {"online", "gradfree"}) {
                KnownDefence announced = new KnownDefence(design, 0, 0f, 0f, 1e-3f, WARMUP.spec());
                try (OptModel shadow = ShadowAdapters.tune(tm, announced, 0, settings)) {
                    Map<String, HostTensor> got = shadow.toTensors(AttackTest.SPLIT.client());
                    expected.forEach((n, t) -> assertArrayEquals(t.data(), got.get(n).data(), 1e-6f, design + " " + n));
                    String moved = OptParameters.layer(0) + "fc1.weight";
                    assertFalse(Arrays.equals(pretrained.get(moved).data(), got.get(moved).data()),
                            "the warm-up moved the shadow's input adapter");
                }
            }
        }
    }
}
