package io.guardedtuning.client.config;

import io.guardedtuning.messaging.Topics;
import io.guardedtuning.offline.ProviderKeys;
import io.guardedtuning.privacy.ClientDefence;
import io.guardedtuning.privacy.ForwardLeakageProbe;
import io.guardedtuning.privacy.PrivacyWarmup;
import io.guardedtuning.service.config.ConfigProblems;
import io.guardedtuning.session.RemoteBackboneLink;
import io.guardedtuning.session.SessionKeys;
import io.guardedtuning.session.SessionSettings;
import io.guardedtuning.split.Design;
import io.guardedtuning.split.MicroBatches;
import io.guardedtuning.wire.SessionKey;

import java.nio.file.Path;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Optional;

/** client-compute's configuration, checked: everything the session thread needs, nothing left to fail later. */
public record ClientSettings(SessionSettings session, SessionKey key, String producerId, String model,
                             String taskName, int trainSize, int evalSize, int maxTokens, int evalBatchSize,
                             Optional<Path> checkpointDir, Path summaryPath, RemoteBackboneLink.Settings link,
                             Offline offline, boolean autostart, boolean exitOnFinish, Duration auditWait,
                             Privacy privacy) {

    /** The client's defences and what its own leakage check needs. */
    public record Privacy(ClientDefence.Settings defence, int publicRows, ForwardLeakageProbe.Settings probe) {
    }

    /** The Offline design's settings; {@code providerKey} is null in the other designs. */
    public record Offline(PublicKey providerKey, int keptLayers, int distilSteps, boolean discloseTask,
                          Duration packageTimeout) {
    }

    static final String SESSION_KEY = "gt.client.session-key (env GT_SESSION_KEY)";
    static final String MASTER_KEY = "gt.client.master-key (env GT_MASTER_KEY)";
    static final String PROVIDER_KEY = "gt.client.offline.provider-public-key (env GT_PROVIDER_PUBLIC_KEY)";

    public static ClientSettings from(ClientConfig c) {
        ConfigProblems problems = new ConfigProblems("client-compute");
        Design design = problems.check("gt.client.design", () -> Design.parse(c.design()));
        SessionSettings session = problems.check("gt.client.*", () -> new SessionSettings(c.sessionId(), design,
                c.k(), c.alpha(), c.bitsUp(), c.bitsDown(), c.gradientBitsUp(), c.gradientBitsDown(), c.batchSize(),
                c.learningRate(), c.epochs(), c.seed(), c.checkpointEvery(), c.auditEvery(), c.maxSteps()));
        SessionKey key = key(c, problems);
        if (c.task().trainSize() < 1 || c.task().evalSize() < 1) {
            problems.add("gt.client.task.train-size / eval-size", "must be >= 1");
        }
        if (c.maxTokens() < 2) {
            problems.add("gt.client.max-tokens", "must be >= 2, got " + c.maxTokens());
        }
        if (c.evalBatchSize() < 1) {
            problems.add("gt.client.eval-batch-size", "must be >= 1, got " + c.evalBatchSize());
        }
        if (c.answerTimeout().isNegative() || c.answerTimeout().isZero()) {
            problems.add("gt.client.answer-timeout", "must be positive, got " + c.answerTimeout());
        }
        if (c.auditWait().isNegative()) {
            problems.add("gt.client.audit-wait", "must be >= 0, got " + c.auditWait());
        }
        if (c.maxAttempts() < 1) {
            problems.add("gt.client.max-attempts", "must be >= 1, got " + c.maxAttempts());
        }
        if (c.microBatches() < MicroBatches.AUTO || c.microBatches() > MicroBatches.MAX_PARTS) {
            problems.add("gt.client.micro-batches", "must be 0 (auto) or in 1.." + MicroBatches.MAX_PARTS + ", got "
                    + c.microBatches());
        }
        Offline offline = offline(c.offline(), design, problems);
        Privacy privacy = privacy(c.privacy(), design, problems);
        problems.throwIfAny();
        // The precisions were checked with the session settings.
        RemoteBackboneLink.Settings link = new RemoteBackboneLink.Settings(c.bitsUp(), c.bitsDown(),
                c.gradientBitsUp(), c.gradientBitsDown(), c.answerTimeout(), c.maxAttempts(), c.microBatches(),
                c.sendAhead());
        return new ClientSettings(session, key, c.producerId().orElse("client-" + session.sessionId()), c.model(),
                c.task().name(), c.task().trainSize(), c.task().evalSize(), c.maxTokens(), c.evalBatchSize(),
                c.checkpointDir(), c.summaryPath(), link, offline, c.autostart(), c.exitOnFinish(),
                c.auditWait(), privacy);
    }

    private static Privacy privacy(ClientConfig.Privacy p, Design design, ConfigProblems problems) {
        PrivacyWarmup.Recipe recipe = problems.check("gt.client.privacy.warmup",
                () -> PrivacyWarmup.Recipe.parse(p.warmup()));
        if (design == Design.OFFLINE && (p.noise() > 0 || p.leakageBudget() > 0 || !"none".equals(p.warmup()))) {
            problems.add("gt.client.privacy.*", "the Offline design sends no activations: no noise, warm-up or "
                    + "leakage budget applies");
        }
        if (p.publicRows() < 16 || p.probeSipSteps() < 1 || p.probeRefineSteps() < 0) {
            problems.add("gt.client.privacy.public-rows / probe-sip-steps / probe-refine-steps",
                    "must be >= 16, >= 1 and >= 0");
        }
        long secret = p.secretSeed().orElseGet(() -> new SecureRandom().nextLong());
        ClientDefence.Settings defence = problems.check("gt.client.privacy.*", () -> new ClientDefence.Settings(
                p.noise(), recipe == null || recipe.isNone() ? PrivacyWarmup.Recipe.NONE
                        : recipe.withPublicRows(p.publicRows()), p.leakageBudget(), p.maxNoise(),
                secret));
        return new Privacy(defence, p.publicRows(), ForwardLeakageProbe.Settings.auditors(
                Math.max(1, p.probeSipSteps()), Math.max(0, p.probeRefineSteps())));
    }

    private static Offline offline(ClientConfig.Offline o, Design design, ConfigProblems problems) {
        if (o.keptLayers() < 0 || o.distilSteps() < 0) {
            problems.add("gt.client.offline.kept-layers / distil-steps", "must be >= 0");
        }
        if (o.packageTimeout().isNegative() || o.packageTimeout().isZero()) {
            problems.add("gt.client.offline.package-timeout", "must be positive, got " + o.packageTimeout());
        }
        PublicKey providerKey = null;
        Optional<String> key = o.providerPublicKey().map(String::strip).filter(k -> !k.isEmpty());
        if (design == Design.OFFLINE && key.isEmpty()) {
            problems.add(PROVIDER_KEY, "is required for design offline: the emulator package must be signed by "
                    + "the provider (emulator-distillation's GET /provider/public-key)");
        } else if (design == Design.OFFLINE) {
            providerKey = problems.check(PROVIDER_KEY, () -> ProviderKeys.publicKey(key.get()));
        }
        return new Offline(providerKey, o.keptLayers(), o.distilSteps(), o.discloseTask(), o.packageTimeout());
    }

    /** The session's own key, or one derived from the master secret; exactly one of the two. */
    private static SessionKey key(ClientConfig c, ConfigProblems problems) {
        Optional<String> own = c.sessionKey().map(String::strip).filter(s -> !s.isEmpty());
        Optional<String> master = c.masterKey().map(String::strip).filter(s -> !s.isEmpty());
        if (own.isPresent() == master.isPresent()) {
            problems.add(SESSION_KEY, "give exactly one of the session key and " + MASTER_KEY);
            return null;
        }
        if (own.isPresent()) {
            return problems.check(SESSION_KEY, () -> new SessionKey(c.sessionId(), parseHex(own.get())));
        }
        return problems.check(MASTER_KEY, () -> SessionKeys.fromHex(master.get()).forSession(c.sessionId()));
    }

    private static byte[] parseHex(String hex) {
        try {
            return HexFormat.of().parseHex(hex);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("must be hex-encoded: " + e.getMessage());
        }
    }

    public String downTopic() {
        return Topics.sessionDown(session.sessionId());
    }
}
