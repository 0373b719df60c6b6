package io.guardedtuning.emulator.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

import java.nio.file.Path;
import java.util.Optional;

/** {@code gt.emulator.*}: the provider's model, secrets, and the Offline recipe's knobs. */
@ConfigMapping(prefix = "gt.emulator")
public interface EmulatorConfig {

    /** Hugging Face model directory of the full model, with tokenizer.json. */
    Path model();

    /** Job state, released (unmarked) emulators for leak tracing, and distillation checkpoints. */
    Path jobsDir();

    /**
     * Serve only this session and exit when its job ends (a Kubernetes Job per Offline session, env GT_SESSION_ID);
     * unset: a long-running service for every session.
     */
    Optional<String> session();

    /** Hex master secret (GT_MASTER_KEY): session HMAC keys and the watermark key derive from it. */
    String masterKey();

    Signing signing();

    Guard guard();

    /** Watermark ε relative to each marked tensor's RMS. */
    @WithDefault("0.005")
    double watermarkStrength();

    Distillation distillation();

    Evaluation evaluation();

    /** The provider's Ed25519 key pair, each as base64 DER text or a file holding it (text wins). */
    interface Signing {
        Optional<String> privateKey();

        Optional<Path> privateKeyFile();

        Optional<String> publicKey();

        Optional<Path> publicKeyFile();
    }

    /** Release ceiling: see io.guardedtuning.offline.FidelityGuard. */
    interface Guard {
        @WithDefault("1.2")
        double minPerplexityRatio();

        /** Emulator-alone task accuracy at most this fraction of the full model's; 0 disables. */
        @WithDefault("0")
        double maxAccuracyRatio();
    }

    interface Distillation {
        /** UTF-8 public text to distil on and to measure perplexity with; default: the project's public corpus. */
        Optional<Path> publicText();

        @WithDefault("2000000")
        long publicTextMaxChars();

        @WithDefault("64")
        int sequenceLength();

        @WithDefault("4")
        int batchSize();

        @WithDefault("1e-4")
        float learningRate();

        @WithDefault("50")
        int checkpointEvery();

        /** Windows kept out of distillation for the fidelity guard's perplexity. */
        @WithDefault("16")
        int heldOutSequences();
    }

    interface Evaluation {
        @WithDefault("256")
        int maxTokens();

        @WithDefault("16")
        int batchSize();

        @WithDefault("200")
        int maxExamples();
    }
}
