package io.guardedtuning.server.service;

import io.guardedtuning.checkpoint.HfCheckpoint;
import io.guardedtuning.checkpoint.ModelCatalog;
import io.guardedtuning.checkpoint.ModelFiles;
import io.guardedtuning.engine.DjlRuntime;
import io.guardedtuning.model.OptConfig;
import io.guardedtuning.model.OptModel;
import io.guardedtuning.model.Split;
import io.guardedtuning.server.config.ServerConfig;
import io.guardedtuning.service.config.ConfigProblems;
import io.guardedtuning.session.SessionKeys;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/** Checks server-compute's configuration and loads the backbone it names: only the provider's layers. */
public final class BackboneSetup {

    /** What the service runs on. The caller owns (and closes) the trunk. */
    public record Loaded(Path modelDirectory, OptConfig config, Split split, OptModel trunk, SessionKeys keys) {
    }

    private static final String MASTER_KEY = "gt.server.master-key (env GT_MASTER_KEY)";

    private BackboneSetup() {
    }

    public static Loaded load(ServerConfig c) {
        DjlRuntime.configure();
        ConfigProblems problems = new ConfigProblems("server-compute");
        String masterKey = c.masterKey().map(String::strip).orElse("");
        SessionKeys keys = null;
        if (masterKey.isEmpty()) {
            problems.add(MASTER_KEY, "required: the hex master secret the session keys derive from");
        } else {
            keys = problems.check(MASTER_KEY, () -> SessionKeys.fromHex(masterKey));
        }
        if (c.maxHeldSteps() < 1) {
            problems.add("gt.server.max-held-steps", "must be >= 1, got " + c.maxHeldSteps());
        }
        if (c.producerId().isBlank()) {
            problems.add("gt.server.producer-id", "must not be blank");
        }
        if (c.expireEvery().isNegative() || c.expireEvery().isZero()) {
            problems.add("gt.server.expire-every", "must be positive, got " + c.expireEvery());
        }
        Path dir = problems.check("gt.server.model", () -> resolve(c.model()));
        OptConfig config = dir == null ? null : problems.check("gt.server.model", () -> readConfig(dir));
        Split split = config == null ? null : problems.check("gt.server.k", () -> Split.of(c.k(), config));
        problems.throwIfAny();
        try {
            return new Loaded(dir, config, split, ModelFiles.load(dir, split.backbone()), keys);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot load the backbone of " + dir + " (gt.server.model)", e);
        }
    }

    private static Path resolve(String model) {
        try {
            return ModelCatalog.resolve(model);
        } catch (IOException e) {
            throw new UncheckedIOException(e.getMessage(), e);
        }
    }

    private static OptConfig readConfig(Path dir) {
        try {
            return HfCheckpoint.readConfig(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("not a model directory: " + e.getMessage(), e);
        }
    }
}
