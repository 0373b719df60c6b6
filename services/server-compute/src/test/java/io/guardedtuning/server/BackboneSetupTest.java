package io.guardedtuning.server;

import io.guardedtuning.server.config.ServerConfig;
import io.guardedtuning.server.service.BackboneSetup;
import io.guardedtuning.service.config.ConfigProblems;
import io.guardedtuning.testing.TinyModels;
import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfigBuilder;
import io.quarkus.runtime.configuration.DurationConverter;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** server-compute's start-up checks, on the real key names, without starting the service. */
class BackboneSetupTest {

    static final String MASTER = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    static BackboneSetup.Loaded load(Map<String, String> overrides) {
        Map<String, String> p = new HashMap<>(Map.of("gt.server.model", TinyModels.directory().toString(),
                "gt.server.master-key", MASTER));
        p.putAll(overrides);
        return BackboneSetup.load(new SmallRyeConfigBuilder().withMapping(ServerConfig.class)
                .withConverter(Duration.class, 100, new DurationConverter())
                .withSources(new PropertiesConfigSource(p, "test", 500)).build()
                .getConfigMapping(ServerConfig.class));
    }

    static String problems(Map<String, String> overrides) {
        return assertThrows(ConfigProblems.InvalidConfigurationException.class, () -> load(overrides)).getMessage();
    }

    @Test
    void loadsOnlyTheBackbone() {
        BackboneSetup.Loaded loaded = load(Map.of("gt.server.k", "1"));
        try {
            assertEquals(1, loaded.split().trunkFrom());
            assertTrue(loaded.trunk().parameters().keySet().stream().allMatch(loaded.split().backbone()),
                    loaded.trunk().parameters().keySet().toString());
        } finally {
            loaded.trunk().close();
        }
    }

    @Test
    void anUnknownModelDirectoryIsNamed() {
        assertTrue(problems(Map.of("gt.server.model", "/nonexistent/model")).contains(
                "gt.server.model: model '/nonexistent/model' is neither a directory nor a bundled model"));
    }

    @Test
    void aSplitPointTooLargeForTheModelIsNamed() {
        assertTrue(problems(Map.of("gt.server.k", "3")).contains("gt.server.k: split point k=3 leaves no backbone"));
    }

    @Test
    void aMissingOrMalformedMasterKeyIsNamed() {
        String missing = problems(Map.of("gt.server.master-key", ""));
        assertTrue(missing.contains("gt.server.master-key (env GT_MASTER_KEY): required"), missing);
        String tooShort = problems(Map.of("gt.server.master-key", "abcd"));
        assertTrue(tooShort.contains("gt.server.master-key (env GT_MASTER_KEY): ")
                && tooShort.contains("needs at least 32 bytes, got 2"), tooShort);
    }
}
