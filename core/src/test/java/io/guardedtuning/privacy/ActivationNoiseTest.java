package io.guardedtuning.privacy;

import io.guardedtuning.model.OptModel;
import io.guardedtuning.tensor.HostTensor;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

class ActivationNoiseTest {

    @Test
    void calibratedNoiseIsTheAskedMultipleOfTheActivationsRms() {
        try (OptModel client = OptModel.random(PrivacyWarmupTest.CONFIG, 3)) {
            List<int[]> text = PrivacyWarmupTest.sequences(new Random(1), 32, 8, 16);
            double rms = ActivationNoise.rms(client, PrivacyWarmupTest.SPLIT, text);
            ActivationNoise noise = ActivationNoise.calibrated(0.5f, client, PrivacyWarmupTest.SPLIT, text);
            assertEquals(0.5 * rms, noise.std(), 1e-6 * rms);

            HostTensor h = PrivacyWarmupTest.hIn(client, text);
            HostTensor noised = noise.apply(h, 7);
            double sq = 0;
            double mean = 0;
            for (int i = 0; i < h.data().length; i++) {
                double d = noised.data()[i] - h.data()[i];
                sq += d * d;
                mean += d;
            }
            int n = h.data().length;
            assertEquals(noise.std(), Math.sqrt(sq / n), 0.03 * noise.std(), "the added noise has the calibrated std");
            assertEquals(0, mean / n, 0.03 * noise.std(), "and mean 0");
        }
    }

    @Test
    void noiseIsFixedPerSendAndFreshAcrossSends() {
        HostTensor h = new HostTensor(new long[] {1, 4, 8}, new float[32]);
        ActivationNoise noise = new ActivationNoise(1f);
        long a = ActivationNoise.seedFor(99, 0, 3);
        assertEquals(noise.apply(h, a), noise.apply(h, a), "a resent step carries the same tensor");
        assertNotEquals(noise.apply(h, a), noise.apply(h, ActivationNoise.seedFor(99, 0, 4)));
        assertNotEquals(noise.apply(h, a), noise.apply(h, ActivationNoise.seedFor(99, 1, 3)));
        assertNotEquals(noise.apply(h, a), noise.apply(h, ActivationNoise.seedFor(98, 0, 3)));
        assertSame(h, new ActivationNoise(0f).apply(h, a), "no noise, no copy");
        assertThrows(IllegalArgumentException.class, () -> new ActivationNoise(-1f));
        assertThrows(IllegalArgumentException.class, () -> new ActivationNoise(Float.NaN));
    }
}
