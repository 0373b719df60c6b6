package io.guardedtuning.audit.config;

import io.guardedtuning.attack.AttackCatalog;
import io.guardedtuning.attack.BisrForwardAttack;
import io.guardedtuning.attack.PublicText;
import io.guardedtuning.attack.SipAttack;
import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import io.smallrye.config.WithName;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/** Everything under {@code gt.audit.*}; see docs/audit.md for the meaning and defaults of each key. */
@ConfigMapping(prefix = "gt.audit")
public interface AuditConfig {

    /** The provider's hex master secret (64+ hex digits), from which every session's HMAC key is derived. */
    @WithName("master-key")
    Optional<String> masterKey();

    /**
     * On the data owner's side instead of the master secret: the hex key of the one session in {@link #sessions()}
     * (the key its client holds).
     */
    @WithName("session-key")
    Optional<String> sessionKey();

    /** Audit only these sessions (records of others are skipped, not dead-lettered); all when absent. */
    Optional<Set<String>> sessions();

    /** The pretrained model the provider shipped: a bundled name or a Hugging Face directory. */
    @WithDefault("gt-tiny-opt")
    String model();

    /** Split point: blocks per client adapter. */
    @WithDefault("2")
    int k();

    /** Attacks by name, run in this order: sip, sip-aligned, sip-adaptive, sip-drift, namoe, eia, bisr-f, tag, bisr-b. */
    @WithDefault("sip,sip-aligned,sip-adaptive,sip-drift,namoe,eia,bisr-f,tag,bisr-b")
    List<String> attacks();

    Sampling sampling();

    Defence defence();

    Auxiliary auxiliary();

    Caps caps();

    /** How long a sampled Online activation waits for its gradient before it is attacked forward-only. */
    @WithName("gradient-wait")
    @WithDefault("30s")
    Duration gradientWait();

    /** ROUGE-L F1 at or above which an attack's leakage raises an alert. */
    @WithName("alert-threshold")
    @WithDefault("0.5")
    double alertThreshold();

    /** Points kept per session and attack (oldest dropped first). */
    @WithName("max-points")
    @WithDefault("500")
    int maxPoints();

    interface Sampling {
        /** Audit steps whose number is a multiple of this (step 0 included), per session and pass. */
        @WithDefault("10")
        int every();

        /**
         * Passes to audit: {@code train} by default; {@code eval-before} and {@code eval-after} add their own series
         * (never mixed with training's, never in the headline).
         */
        @WithDefault("train")
        List<String> passes();

        /** Audits started per minute across all sessions. */
        @WithName("max-per-minute")
        @WithDefault("6")
        int maxPerMinute();

        /** Sampled steps waiting for the worker; more are dropped and counted. */
        @WithName("queue-capacity")
        @WithDefault("8")
        int queueCapacity();

        /** Sessions not audited until enabled over REST. */
        @WithName("disabled-sessions")
        Optional<Set<String>> disabledSessions();
    }

    /** The wire defence the attacker knows of (SIP trains through it). */
    interface Defence {
        /** Activation bits on the wire; 0 or 32 for full precision. */
        @WithName("activation-bits")
        @WithDefault("0")
        int activationBits();

        @WithName("noise-std")
        @WithDefault("0")
        float noiseStd();
    }

    /** Public text the attacker trains its inverters and shadow adapters on. */
    interface Auxiliary {
        /**
         * Use the whole held-out split of the pretraining corpus (needs its package cache) instead of the bundled
         * text.
         */
        @WithDefault("true")
        boolean corpus();

        /** A memory bound only: the whole held-out split is 938 rows of 256 tokens. */
        @WithName("max-sequences")
        @WithDefault("" + PublicText.ATTACKER_MAX_ROWS)
        int maxSequences();

        /** Row length with BOS, as the client's encoder caps its rows (its default --max-tokens). */
        @WithName("sequence-tokens")
        @WithDefault("" + PublicText.ATTACKER_ROW_TOKENS)
        int sequenceTokens();
    }

    /** CPU caps of the attacks (optimiser steps). */
    interface Caps {
        /** 800 steps of 6 × 256-token rows converge on the held-out split (loss 0.003; docs/attacks.md). */
        @WithName("sip-steps")
        @WithDefault("" + SipAttack.AUDIT_STEPS)
        int sipSteps();

        @WithName("sip-hidden")
        @WithDefault("256")
        int sipHidden();

        @WithName("eia-steps")
        @WithDefault("300")
        int eiaSteps();

        @WithName("bisr-f-steps")
        @WithDefault("" + BisrForwardAttack.DEFAULT_STEPS)
        int bisrForwardSteps();

        @WithName("tag-steps")
        @WithDefault("300")
        int tagSteps();

        @WithName("bisr-b-steps")
        @WithDefault("18")
        int bisrBackwardSteps();

        /** Shadow tuning steps of the adaptive attackers, and the most drift sip-drift follows. */
        @WithName("shadow-steps")
        @WithDefault("64")
        int shadowSteps();

        /** The shadow's learning rate when a session announces none (the client's default). */
        @WithName("shadow-lr")
        @WithDefault("3e-3")
        float shadowLearningRate();

        /** dCor weights of NaMoE's shadow experts (beside the pretrained expert). */
        @WithName("namoe-alphas")
        @WithDefault("8,32")
        List<Float> namoeAlphas();

        /** Provider draws of an announced warm-up's secret start that the adaptive inverters train on together. */
        @WithName("warmup-seeds")
        @WithDefault("" + AttackCatalog.WARMUP_SEEDS)
        int warmupSeeds();
    }
}
