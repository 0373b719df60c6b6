package io.guardedtuning.server.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

import java.time.Duration;
import java.util.Optional;

/** server-compute's settings ({@code gt.server.*}); checked as a whole by {@code BackboneSetup} at start. */
@ConfigMapping(prefix = "gt.server")
public interface ServerConfig {

    /** A Hugging Face OPT directory, or the bundled model's name. */
    @WithDefault("gt-tiny-opt")
    String model();

    /** Adapter size in layers: the backbone is layers [k, L-k). Must match the clients' k. */
    @WithDefault("2")
    int k();

    /** Hex master secret the per-session HMAC keys derive from (from env GT_MASTER_KEY). */
    Optional<String> masterKey();

    /** Steps whose activations are held for a backward, across sessions; older ones are evicted (clients resend). */
    @WithDefault("64")
    int maxHeldSteps();

    /** The {@code ce_source} of answers. */
    @WithDefault("server-compute")
    String producerId();

    /** How often incomplete chunk sets are checked for expiry. */
    @WithDefault("10s")
    Duration expireEvery();
}
