package io.guardedtuning.session;

import io.guardedtuning.attack.KnownDefence;
import io.guardedtuning.wire.CodecFormat;
import io.guardedtuning.wire.CodecSpec;
import io.guardedtuning.wire.EventKind;
import io.guardedtuning.wire.EventMetadata;
import io.guardedtuning.wire.WireRejectionException;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class SplitProtocolTest {

    static EventMetadata activation(Map<String, String> attributes) {
        return new EventMetadata("id", "client", EventKind.ACTIVATION_UP, Instant.EPOCH, "s1", 0, 0, 0,
                new long[] {1, 3, 4}, CodecSpec.of(CodecFormat.FP32), attributes);
    }

    @Test
    void anActivationNamesTheNoiseItWentThroughAndTheAttackerTrainsThroughThat() {
        EventMetadata m = activation(SplitProtocol.activationAttributes(new long[] {3}, true, 8, SplitProtocol.TRAIN,
                0.75f));
        assertEquals(Optional.of(0.75f), SplitProtocol.noise(m));
        KnownDefence announced = new KnownDefence("online", 8, 0f, 0f, 1e-4f, "none");
        assertEquals(0.75f, SplitProtocol.noise(m).map(announced::withNoise).orElse(announced).noiseStd(),
                "the σ raised within the pass wins over the start's");
    }

    @Test
    void anActivationWithoutNoiseKeepsTheStartsAndAMalformedOneIsRefused() {
        Map<String, String> a = new HashMap<>(SplitProtocol.activationAttributes(new long[] {3}, true, 8,
                SplitProtocol.TRAIN, 0f));
        a.remove(SplitProtocol.NOISE);
        assertEquals(Optional.empty(), SplitProtocol.noise(activation(a)));
        for (String bad : new String[] {"-1", "NaN", "Infinity", "x"}) {
            a.put(SplitProtocol.NOISE, bad);
            assertThrows(WireRejectionException.class, () -> SplitProtocol.noise(activation(a)), bad);
        }
        assertThrows(IllegalArgumentException.class, () -> SplitProtocol.activationAttributes(new long[] {3}, true,
                8, SplitProtocol.TRAIN, Float.NaN));
        // The announced defence takes the same rule: an infinite σ, α or learning rate is no defence to train for.
        KnownDefence announced = new KnownDefence("online", 8, 0f, 0f, 1e-4f, "none");
        assertThrows(IllegalArgumentException.class, () -> announced.withNoise(Float.POSITIVE_INFINITY));
        assertThrows(IllegalArgumentException.class,
                () -> new KnownDefence("online", 8, 0f, Float.POSITIVE_INFINITY, 1e-4f, "none"));
    }
}
