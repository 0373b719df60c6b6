package io.guardedtuning.client;

import io.guardedtuning.client.config.ClientConfig;
import io.guardedtuning.client.config.ClientSettings;
import io.guardedtuning.offline.ProviderKeys;
import io.guardedtuning.service.config.ConfigProblems;
import io.guardedtuning.session.SessionKeys;
import io.guardedtuning.split.Design;
import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfig;
import io.smallrye.config.SmallRyeConfigBuilder;
import io.quarkus.runtime.configuration.DurationConverter;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** client-compute's configuration checks, on the real key names, without starting the service. */
class ClientSettingsTest {

    static final String MASTER = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    static ClientSettings settings(Map<String, String> overrides) {
        Map<String, String> p = new HashMap<>(Map.of("gt.client.session-id", "s-1", "gt.client.master-key", MASTER));
        p.putAll(overrides);
        SmallRyeConfig config = new SmallRyeConfigBuilder().withMapping(ClientConfig.class)
                .withConverter(Duration.class, 100, new DurationConverter())
                .withSources(new PropertiesConfigSource(p, "test", 500)).build();
        return ClientSettings.from(config.getConfigMapping(ClientConfig.class));
    }

    static String problems(Map<String, String> overrides) {
        return assertThrows(ConfigProblems.InvalidConfigurationException.class, () -> settings(overrides))
                .getMessage();
    }

    @Test
    void aMasterKeyGivesTheSessionItsDerivedKey() {
        ClientSettings s = settings(Map.of("gt.client.design", "gradfree"));
        assertEquals(Design.GRADFREE, s.session().design());
        assertArrayEquals(SessionKeys.fromHex(MASTER).forSession("s-1").key(), s.key().key());
        assertEquals("gt.session.s-1.down", s.downTopic());
        assertEquals("client-s-1", s.producerId());
    }

    @Test
    void offlineNeedsTheProvidersPublicKey() {
        assertTrue(problems(Map.of("gt.client.design", "offline")).contains(
                "gt.client.offline.provider-public-key (env GT_PROVIDER_PUBLIC_KEY): is required for design offline"));
        assertTrue(problems(Map.of("gt.client.design", "offline", "gt.client.offline.provider-public-key", "AAAA"))
                .contains("not a base64 X.509 Ed25519 public key"));
        ClientSettings s = settings(Map.of("gt.client.design", "offline",
                "gt.client.offline.provider-public-key", OfflineSessionTest.PROVIDER_PUBLIC,
                "gt.client.offline.kept-layers", "3"));
        assertEquals(Design.OFFLINE, s.session().design());
        assertEquals(OfflineSessionTest.PROVIDER_PUBLIC, ProviderKeys.toBase64(s.offline().providerKey()));
        assertEquals(3, s.offline().keptLayers());
    }

    @Test
    void everyProblemIsNamedAtOnce() {
        String message = problems(Map.of("gt.client.session-key", "zz", "gt.client.bits-up", "7",
                "gt.client.max-attempts", "0", "gt.client.task.eval-size", "0"));
        assertTrue(message.contains("gt.client.session-key (env GT_SESSION_KEY): give exactly one"), message);
        assertTrue(message.contains("bits up bits must be one of 32, 16, 8, 4; got 7"), message);
        assertTrue(message.contains("gt.client.task.train-size / eval-size"), message);
        assertTrue(message.contains("gt.client.max-attempts"), message);
    }

    @Test
    void aSessionKeyMustBeHex() {
        String message = problems(Map.of("gt.client.master-key", "", "gt.client.session-key", "not-hex"));
        assertTrue(message.contains("gt.client.session-key (env GT_SESSION_KEY): must be hex-encoded"), message);
    }
}
