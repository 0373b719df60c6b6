package io.guardedtuning.client.config;

import io.guardedtuning.attack.BisrForwardAttack;
import io.guardedtuning.attack.SipAttack;
import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/** client-compute's settings ({@code gt.client.*}); checked as a whole by {@link ClientSettings#from}. */
@ConfigMapping(prefix = "gt.client")
public interface ClientConfig {

    String sessionId();

    /** online, gradfree or offline. */
    @WithDefault("online")
    String design();

    @WithDefault("2")
    int k();

    /** Weight of the dCor² penalty on h_in (Online only). */
    @WithDefault("0")
    float alpha();

    @WithDefault("32")
    int bitsUp();

    @WithDefault("32")
    int bitsDown();

    @WithDefault("32")
    int gradientBitsUp();

    @WithDefault("32")
    int gradientBitsDown();

    @WithDefault("8")
    int batchSize();

    @WithDefault("1e-3")
    float learningRate();

    @WithDefault("1")
    int epochs();

    @WithDefault("1")
    long seed();

    @WithDefault("0")
    int checkpointEvery();

    @WithDefault("0")
    int auditEvery();

    @WithDefault("0")
    int maxSteps();

    Task task();

    /** A Hugging Face OPT directory, or the bundled model's name. */
    @WithDefault("gt-tiny-opt")
    String model();

    /** This session's hex HMAC key (env GT_SESSION_KEY), as the provider hands it out. */
    Optional<String> sessionKey();

    /** The provider's hex master secret (env GT_MASTER_KEY): local runs only, the session key is derived from it. */
    Optional<String> masterKey();

    Optional<Path> checkpointDir();

    @WithDefault("client-summary.json")
    Path summaryPath();

    @WithDefault("30s")
    Duration answerTimeout();

    @WithDefault("3")
    int maxAttempts();

    /**
     * Micro-batches each step is cut into on the wire (1..8; 0 = auto, by the size of h_in): the top half of one
     * runs while the next is on the wire or in the backbone. The update is the same for any value.
     */
    @WithDefault("0")
    int microBatches();

    /**
     * Gradfree: send step s+1's h_in before waiting for step s's h_out, so the backbone computes while the client
     * runs its top half. Off only to measure what it saves (the weights are the same either way).
     */
    @WithDefault("true")
    boolean sendAhead();

    /** Longest scored sequence; longer contexts lose their start. */
    @WithDefault("256")
    int maxTokens();

    @WithDefault("16")
    int evalBatchSize();

    /** Run the session at start-up on a background thread; otherwise POST /session/start. */
    @WithDefault("true")
    boolean autostart();

    /** End the process after writing the summary: exit code 0 when done, 1 when failed. */
    @WithDefault("false")
    boolean exitOnFinish();

    /**
     * After the run, how long to wait for the auditor's reconstructions of the sampled training steps, so their
     * scores (taken here, against this client's own rows) make it into the summary; 0 waits for none.
     */
    @WithDefault("0s")
    Duration auditWait();

    /** The {@code ce_source} of this client's events; defaults to client-SESSION. */
    Optional<String> producerId();

    Offline offline();

    Privacy privacy();

    /** The client's defences before anything is sent (docs/security.md, "Client defences"). */
    interface Privacy {
        /** Gaussian noise on h_in, σ as a multiple of the pretrained h_in's RMS on public text (0 = none). */
        @WithDefault("0")
        float noise();

        /** Privacy warm-up recipe before the first exchange: none, or dcor-lm or dcor-kd[:steps=N,lr=X,alpha=X,...]. */
        @WithDefault("none")
        String warmup();

        /** Largest ROUGE-L F1 of the client's own attack any sent batch may have (0 = no budget). */
        @WithDefault("0")
        double leakageBudget();

        /** The largest noise the budget may raise σ to, relative to the RMS. */
        @WithDefault("4")
        float maxNoise();

        /** The secret seed of the warm-up and the noise (default: drawn at start, never announced). */
        Optional<Long> secretSeed();

        /**
         * Rows of held-out public text (48 tokens) for the warm-up and the calibration; the budget's attacker has the
         * auditor's (the whole held-out split in 256-token rows).
         */
        @WithDefault("1200")
        int publicRows();

        /** SIP training steps of the budget's own attacker (the auditor's caps.sip-steps). */
        @WithDefault("" + SipAttack.AUDIT_STEPS)
        int probeSipSteps();

        /** BiSR(f) steps refining SIP's guess in the budget's check (the auditor's caps.bisr-f-steps). */
        @WithDefault("" + BisrForwardAttack.DEFAULT_STEPS)
        int probeRefineSteps();
    }

    /** The Offline design: what to ask the provider for, and how to trust what comes back. */
    interface Offline {
        /**
         * The provider's Ed25519 public key, base64 X.509 as emulator-distillation's GET /provider/public-key
         * gives it (env GT_PROVIDER_PUBLIC_KEY). Required for design offline: unsigned packages are refused.
         */
        Optional<String> providerPublicKey();

        /** Middle blocks the emulator keeps; 0: half of the middle (at least one). */
        @WithDefault("0")
        int keptLayers();

        /** Distillation steps the provider runs on public text before release; 0: layer-drop only. */
        @WithDefault("0")
        int distilSteps();

        /** Name the task in the request, so the provider can report the plug-in result on its public copy. */
        @WithDefault("true")
        boolean discloseTask();

        /** How long to wait for the package (building and distilling it can take long). */
        @WithDefault("30m")
        Duration packageTimeout();
    }

    interface Task {
        /** imdb-sentiment, spam-assassin, or a file form such as arc:TEST.jsonl,TRAIN.jsonl. */
        @WithDefault("imdb-sentiment")
        String name();

        @WithDefault("2000")
        int trainSize();

        @WithDefault("500")
        int evalSize();
    }
}
