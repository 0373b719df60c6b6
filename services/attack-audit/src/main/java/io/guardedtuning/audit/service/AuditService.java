package io.guardedtuning.audit.service;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.guardedtuning.attack.KnownDefence;
import io.guardedtuning.attack.Reconstruction;
import io.guardedtuning.attack.WireDefence;
import io.guardedtuning.audit.config.AuditConfig;
import io.guardedtuning.audit.messaging.AuditEvents;
import io.guardedtuning.audit.messaging.ReportHistory;
import io.guardedtuning.checkpoint.ModelCatalog;
import io.guardedtuning.checkpoint.ModelFiles;
import io.guardedtuning.messaging.Topics;
import io.guardedtuning.metrics.TextLeakage;
import io.guardedtuning.model.OptModel;
import io.guardedtuning.model.Split;
import io.guardedtuning.session.AuditSamples;
import io.guardedtuning.session.SessionKeys;
import io.guardedtuning.session.SplitProtocol;
import io.guardedtuning.tokenizer.BpeTokenizer;
import io.guardedtuning.wire.DeadLetters;
import io.guardedtuning.wire.EventKind;
import io.guardedtuning.wire.EventMetadata;
import io.guardedtuning.wire.RejectReason;
import io.guardedtuning.wire.TensorEventVerifier;
import io.guardedtuning.wire.Verdict;
import io.guardedtuning.wire.WireLimits;
import io.guardedtuning.wire.WireRejectionException;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.quarkus.runtime.Startup;
import jakarta.annotation.PostConstruct;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The audit: verifies every tapped record with the session's key (failures go to the dead-letter topic, and the
 * audit goes on), samples steps, matches activation, gradient and ground truth of a step, runs the attacks on the
 * worker thread, scores, keeps and publishes the leakage series, and raises alerts.
 */
@Startup
@ApplicationScoped
public class AuditService {

    private static final Logger LOG = Logger.getLogger(AuditService.class);
    private static final Set<EventKind> TAPPED_KINDS = EnumSet.of(EventKind.ACTIVATION_UP, EventKind.GRADIENT_UP,
            EventKind.CONTROL, EventKind.AUDIT_SAMPLE);
    private static final Map<String, Set<EventKind>> KINDS_BY_TOPIC = Map.of(
            Topics.ACTIVATIONS_UP, EnumSet.of(EventKind.ACTIVATION_UP, EventKind.CONTROL),
            Topics.GRADIENTS_UP, EnumSet.of(EventKind.GRADIENT_UP),
            Topics.AUDIT_SAMPLES, EnumSet.of(EventKind.AUDIT_SAMPLE));
    private static final Set<EventKind> RESTARTED_KINDS = EnumSet.of(EventKind.ACTIVATION_UP, EventKind.GRADIENT_UP,
            EventKind.AUDIT_SAMPLE);

    @Inject
    AuditConfig config;

    @Inject
    AuditEvents events;

    @Inject
    MeterRegistry registry;

    @Inject
    ObjectMapper json;

    @ConfigProperty(name = "kafka.bootstrap.servers")
    String bootstrapServers;

    private final Clock clock = Clock.systemUTC();
    private final WireLimits limits = WireLimits.chunkedDefaults();
    private final Map<String, TensorEventVerifier> verifiers = new HashMap<>();
    private final Map<String, AtomicReference<Double>> lastRougeL = new ConcurrentHashMap<>();
    private final Set<String> seenSessions = ConcurrentHashMap.newKeySet();
    private SessionKeys keys;
    private SamplingPolicy policy;
    private StepMatcher matcher;
    private LeakageReports reports;
    private AttackSuite suite;
    /** What each session announced of its defence in its latest CONTROL start. */
    private final Map<String, KnownDefence> announcedDefences = new HashMap<>();
    private AuditWorker worker;
    private Counter runs;

    @PostConstruct
    void start() {
        keys = SessionKeys.fromHex(config.masterKey());
        policy = new SamplingPolicy(config.sampling().every(), config.sampling().maxPerMinute(),
                config.sampling().disabledSessions().orElse(Set.of()));
        matcher = new StepMatcher(config.gradientWait(), config.groundTruthWindow());
        reports = new LeakageReports(config.alertThreshold(), config.maxPoints());
        suite = loadSuite();
        runs = registry.counter("gt.audit.runs");
        suite.attackIds().forEach(id -> registry.gauge("gt.audit.last.rouge.l", Tags.of("attack", id),
                lastRougeL.computeIfAbsent(id, k -> new AtomicReference<>(Double.NaN)), AtomicReference::get));
        for (LeakageSeries s : ReportHistory.read(bootstrapServers, json, Duration.ofSeconds(30))) {
            reports.restore(s);
            seenSessions.add(s.session());
        }
        worker = new AuditWorker(config.sampling().queueCapacity(), this::audit, this::expireWaits);
        worker.start();
        LOG.infof("attack audit ready: attacks %s, every %d steps, at most %d audits/min, known defence %s",
                suite.attackIds(), config.sampling().every(), config.sampling().maxPerMinute(), defence());
    }

    private AttackSuite loadSuite() {
        try {
            Path dir = ModelCatalog.resolve(config.model());
            OptModel pretrained = ModelFiles.load(dir);
            List<int[]> auxiliary = AuxiliaryText.load(config.auxiliary().corpus(),
                    config.auxiliary().maxSequences(), config.auxiliary().sequenceTokens(),
                    pretrained.config().bosTokenId(), BpeTokenizer.fromDirectory(dir));
            AuditConfig.Caps c = config.caps();
            return new AttackSuite(pretrained, Split.of(config.k(), pretrained.config()), auxiliary, defence(),
                    config.attacks(), new AttackSuite.Caps(c.sipSteps(), c.sipHidden(), c.eiaSteps(),
                    c.bisrForwardSteps(), c.tagSteps(), c.bisrBackwardSteps(), c.shadowSteps(),
                    c.shadowLearningRate(), c.namoeAlphas()));
        } catch (IOException e) {
            throw new IllegalStateException("cannot build the threat model from model '" + config.model() + "': "
                    + e.getMessage(), e);
        }
    }

    private WireDefence defence() {
        int bits = config.defence().activationBits();
        return new WireDefence(bits >= 32 ? 0 : bits, config.defence().noiseStd());
    }

    @PreDestroy
    void stop() throws InterruptedException {
        worker.close();
        suite.close();
    }

    /** One tapped record (the Kafka side; cheap work only). */
    public synchronized void onRecord(ConsumerRecord<String, byte[]> record) {
        TensorEventVerifier verifier;
        try {
            String session = Topics.requireSessionId(record.key());
            verifier = verifiers.computeIfAbsent(session, s -> new TensorEventVerifier(keys.forSession(s),
                    TAPPED_KINDS, limits, clock));
        } catch (IllegalArgumentException e) {
            deadLetter(record, new Verdict.Rejected(RejectReason.WRONG_SESSION, e.getMessage()));
            return;
        }
        Verdict verdict = verifier.verify(record);
        if (verdict instanceof Verdict.Rejected rejected) {
            deadLetter(record, rejected);
        } else if (verdict instanceof Verdict.Accepted accepted) {
            try {
                dispatch(record, verifier, accepted);
            } catch (WireRejectionException e) {
                deadLetter(record, new Verdict.Rejected(e.reason(), e.getMessage()));
            } catch (IllegalArgumentException e) {
                deadLetter(record, new Verdict.Rejected(RejectReason.PROTOCOL, e.getMessage()));
            }
        }
    }

    private void dispatch(ConsumerRecord<String, byte[]> record, TensorEventVerifier verifier,
                          Verdict.Accepted accepted) {
        EventMetadata m = accepted.event().metadata();
        String session = m.sessionId();
        long now = clock.millis();
        if (!KINDS_BY_TOPIC.getOrDefault(record.topic(), Set.of()).contains(m.kind())) {
            throw new WireRejectionException(RejectReason.UNEXPECTED_KIND, m.kind() + " on " + record.topic());
        }
        seenSessions.add(session);
        switch (m.kind()) {
            case CONTROL -> {
                if (!SplitProtocol.START.equals(m.attribute(SplitProtocol.ACTION))) {
                    throw new IllegalArgumentException("unknown control action '"
                            + m.attribute(SplitProtocol.ACTION) + "'");
                }
                verifier.forgetSteps(RESTARTED_KINDS);
                matcher.forgetSession(session);
                announcedDefences.put(session, KnownDefence.fromAttributes(m.attributes()));
            }
            case ACTIVATION_UP -> {
                StepMatcher.Activation a = new StepMatcher.Activation(accepted.tensor().orElseThrow(),
                        SplitProtocol.lengths(m), SplitProtocol.backward(m), "train",
                        announcedDefences.getOrDefault(session, KnownDefence.NONE));
                if (!matcher.firstSighting(session, m.step())) {
                    matcher.onResentActivation(session, m.step(), a, now);
                    return;
                }
                SamplingPolicy.Decision d = policy.decide(session, m.step(), now);
                if (d == SamplingPolicy.Decision.RATE_LIMITED) {
                    dropped("rate_limited");
                } else if (d == SamplingPolicy.Decision.SAMPLED) {
                    matcher.onSampledActivation(session, m.step(), a, now).ifPresent(this::enqueue);
                }
            }
            case GRADIENT_UP -> {
                if (policy.wants(session, m.step())) {
                    matcher.onGradient(session, m.step(), accepted.tensor().orElseThrow(), now)
                            .ifPresent(this::enqueue);
                }
            }
            case AUDIT_SAMPLE -> matcher.onGroundTruth(session, m.step(),
                    AuditSamples.decode(accepted.event().payload()), now).ifPresent(this::score);
            default -> throw new WireRejectionException(RejectReason.UNEXPECTED_KIND, m.kind() + " is not tapped");
        }
    }

    private void enqueue(SampledStep step) {
        if (!worker.offer(step)) {
            dropped("queue_full");
        }
    }

    private void dropped(String reason) {
        registry.counter("gt.audit.dropped", "reason", reason).increment();
    }

    private void deadLetter(ConsumerRecord<String, byte[]> record, Verdict.Rejected rejected) {
        registry.counter("gt.audit.dead.letters", "reason", rejected.reason().name()).increment();
        events.deadLetter(DeadLetters.record(Topics.DEAD_LETTER, record, rejected));
    }

    /** Worker thread: the attacks run outside the lock, so the tap keeps consuming meanwhile. */
    private void audit(SampledStep step) {
        Map<String, Reconstruction> results = suite.attack(step);
        runs.increment();
        Optional<List<int[]>> truth;
        synchronized (this) {
            truth = matcher.truthOrAwait(step.session(), step.step(), results, clock.millis());
        }
        long now = clock.millis();
        results.forEach((attack, r) -> {
            LeakagePoint p = LeakagePoint.unscored(step.step(), r.confidence(), r.costMillis(), r.detail(), now);
            // Nothing reconstructed (e.g. no gradient crossed) is reported with its reason, never as a zero score.
            publish(reports.add(step.session(), attack, truth.filter(t -> r.succeeded())
                    .map(t -> p.scored(score(r, t))).orElse(p)));
        });
    }

    /** Ground truth that arrived after its step was attacked. */
    private void score(StepMatcher.Scorable s) {
        s.reconstructions().forEach((attack, r) -> {
            LeakageSeries series = reports.series(s.session(), attack);
            if (series == null || !r.succeeded()) {
                return;
            }
            series.points().stream().filter(p -> p.step() == s.step()).findFirst()
                    .flatMap(p -> reports.replace(s.session(), attack, p.scored(score(r, s.truth()))))
                    .ifPresent(this::publish);
        });
    }

    private static TextLeakage.Scores score(Reconstruction r, List<int[]> truth) {
        return TextLeakage.score(r.tokens(), truth);
    }

    private void publish(LeakageReports.Update update) {
        LeakagePoint latest = update.series().latestScored();
        if (latest != null) {
            lastRougeL.computeIfAbsent(update.series().attack(), k -> new AtomicReference<>()).set(latest.rougeL());
        }
        events.report(update.series());
        update.alert().ifPresent(a -> {
            LOG.warnf("leakage alert: %s on session %s reached ROUGE-L F1 %.3f at step %d", a.attack(),
                    a.session(), a.rougeL(), a.step());
            events.alert(a);
        });
    }

    private void expireWaits() {
        List<SampledStep> forwardOnly;
        synchronized (this) {
            forwardOnly = matcher.expire(clock.millis());
        }
        forwardOnly.forEach(this::enqueue);
    }

    public List<String> sessions() {
        return List.copyOf(new TreeSet<>(seenSessions));
    }

    public List<LeakageSeries> session(String id) {
        return reports.session(id);
    }

    public boolean known(String id) {
        return seenSessions.contains(id);
    }

    public boolean enabled(String session) {
        return policy.isEnabled(session);
    }

    public void setEnabled(String session, boolean enabled) {
        policy.setEnabled(Topics.requireSessionId(session), enabled);
    }

    public double alertThreshold() {
        return reports.alertThreshold();
    }

    public List<String> attackIds() {
        return suite.attackIds();
    }
}
