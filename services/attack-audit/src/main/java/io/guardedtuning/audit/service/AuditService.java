package io.guardedtuning.audit.service;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.guardedtuning.attack.AttackCatalog;
import io.guardedtuning.attack.KnownDefence;
import io.guardedtuning.attack.Reconstruction;
import io.guardedtuning.attack.WireDefence;
import io.guardedtuning.audit.config.AuditConfig;
import io.guardedtuning.audit.messaging.AuditEvents;
import io.guardedtuning.audit.messaging.ReportHistory;
import io.guardedtuning.checkpoint.ModelCatalog;
import io.guardedtuning.checkpoint.ModelFiles;
import io.guardedtuning.messaging.Topics;
import io.guardedtuning.model.OptModel;
import io.guardedtuning.model.Split;
import io.guardedtuning.session.AuditProtocol;
import io.guardedtuning.session.AuditedSteps;
import io.guardedtuning.session.SessionKeys;
import io.guardedtuning.session.SessionVerifiers;
import io.guardedtuning.session.SplitProtocol;
import io.guardedtuning.tokenizer.BpeTokenizer;
import io.guardedtuning.wire.DeadLetters;
import io.guardedtuning.wire.EventKind;
import io.guardedtuning.wire.EventMetadata;
import io.guardedtuning.wire.RejectReason;
import io.guardedtuning.wire.SessionKey;
import io.guardedtuning.wire.TensorEvent;
import io.guardedtuning.wire.TensorEventWriter;
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
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;

/**
 * The audit: verifies every tapped record with the session's key (failures go to the dead-letter topic, and the
 * audit goes on), samples steps by (session, pass, step), matches activation and gradient of a step, runs the
 * attacks on the worker thread, sends the reconstructions to the session's own client (its down topic), takes the
 * client's scores back (numbers only: the client's text never reaches the auditor), keeps and publishes the
 * leakage series, and raises alerts.
 */
@Startup
@ApplicationScoped
public class AuditService {

    private static final Logger LOG = Logger.getLogger(AuditService.class);
    private static final Set<EventKind> TAPPED_KINDS = EnumSet.of(EventKind.ACTIVATION_UP, EventKind.GRADIENT_UP,
            EventKind.CONTROL, EventKind.AUDIT_SCORE);
    private static final Map<String, Set<EventKind>> KINDS_BY_TOPIC = Map.of(
            Topics.ACTIVATIONS_UP, EnumSet.of(EventKind.ACTIVATION_UP, EventKind.CONTROL),
            Topics.GRADIENTS_UP, EnumSet.of(EventKind.GRADIENT_UP),
            Topics.AUDIT_SCORES, EnumSet.of(EventKind.AUDIT_SCORE));
    /** Kinds whose steps restart with a pass; scores are numbered by the client's clock and never restart. */
    private static final Set<EventKind> RESTARTED_KINDS = EnumSet.of(EventKind.ACTIVATION_UP, EventKind.GRADIENT_UP);
    private static final String PRODUCER_ID = "attack-audit";

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
    /** Verifiers per session, held only for sessions whose key signed a tapped record (bounded). */
    private SessionVerifiers<TappedSession> verifiers;
    private final Map<String, AtomicReference<Double>> lastRougeL = new ConcurrentHashMap<>();
    private final Set<String> seenSessions = ConcurrentHashMap.newKeySet();
    private final AtomicLong lastEventStep = new AtomicLong();
    private Function<String, SessionKey> keys;
    private Optional<Set<String>> audited;
    private SamplingPolicy policy;
    private StepMatcher matcher;
    private LeakageReports reports;
    private AttackSuite suite;

    /** What the audit keeps per authenticated session besides its verifier. */
    private static final class TappedSession {
        /** What the session announced of its defence in its latest CONTROL start. */
        KnownDefence announced = KnownDefence.NONE;
    }
    private AuditWorker worker;
    private Counter runs;

    @PostConstruct
    void start() {
        audited = config.sessions();
        keys = keys();
        policy = new SamplingPolicy(config.sampling().every(), config.sampling().maxPerMinute(),
                config.sampling().passes(), config.sampling().disabledSessions().orElse(Set.of()));
        matcher = new StepMatcher(config.gradientWait());
        verifiers = new SessionVerifiers<>(keys, TAPPED_KINDS, limits, clock, SessionVerifiers.DEFAULT_MAX_SESSIONS,
                (session, key) -> new TappedSession(), matcher::forgetSession);
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
        LOG.infof("attack audit ready: attacks %s, every %d steps of %s, at most %d audits/min, known defence %s,"
                + " sessions %s", suite.attackIds(), config.sampling().every(), config.sampling().passes(),
                config.sampling().maxPerMinute(), defence(), audited.map(Object::toString).orElse("all"));
    }

    /**
     * Session keys: derived from the provider's master secret, or, for an auditor on the data owner's side, the
     * one session's own key (then exactly one session must be configured).
     */
    private Function<String, SessionKey> keys() {
        Optional<String> master = config.masterKey().map(String::strip).filter(k -> !k.isEmpty());
        Optional<String> own = config.sessionKey().map(String::strip).filter(k -> !k.isEmpty());
        if (master.isPresent() == own.isPresent()) {
            throw new IllegalStateException("give exactly one of gt.audit.master-key (env GT_MASTER_KEY) and "
                    + "gt.audit.session-key");
        }
        if (master.isPresent()) {
            SessionKeys derived = SessionKeys.fromHex(master.get());
            return derived::forSession;
        }
        Set<String> sessions = audited.orElse(Set.of());
        if (sessions.size() != 1) {
            throw new IllegalStateException("gt.audit.session-key needs exactly one session in gt.audit.sessions, got "
                    + sessions);
        }
        String session = sessions.iterator().next();
        SessionKey key = new SessionKey(session, HexFormat.of().parseHex(own.get()));
        return s -> {
            if (!s.equals(session)) {
                throw new IllegalArgumentException("no key for session " + s);
            }
            return key;
        };
    }

    private AttackSuite loadSuite() {
        try {
            Path dir = ModelCatalog.resolve(config.model());
            OptModel pretrained = ModelFiles.load(dir);
            BpeTokenizer tokenizer = BpeTokenizer.fromDirectory(dir);
            List<int[]> auxiliary = AuxiliaryText.load(config.auxiliary().corpus(),
                    config.auxiliary().maxSequences(), config.auxiliary().sequenceTokens(),
                    pretrained.config().bosTokenId(), tokenizer);
            AuditConfig.Caps c = config.caps();
            return new AttackSuite(pretrained, Split.of(config.k(), pretrained.config()), auxiliary,
                    config.auxiliary().corpus() ? AuxiliaryText.warmupText(tokenizer, pretrained.config().bosTokenId())
                            : null, defence(),
                    config.attacks(), new AttackCatalog.Caps(c.sipSteps(), c.sipHidden(), c.eiaSteps(),
                    c.bisrForwardSteps(), c.tagSteps(), c.bisrBackwardSteps(), c.shadowSteps(),
                    c.shadowLearningRate(), c.namoeAlphas(), c.warmupSeeds()));
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
        if (record.key() != null && audited.isPresent() && !audited.get().contains(record.key())) {
            return; // another data owner's session: not this auditor's to read or to judge
        }
        SessionVerifiers.Outcome<TappedSession> outcome = verifiers.verify(record);
        if (outcome.verdict() instanceof Verdict.Rejected rejected) {
            deadLetter(record, rejected);
        } else if (outcome.verdict() instanceof Verdict.Accepted accepted) {
            try {
                dispatch(record, outcome.state().orElseThrow(), accepted);
            } catch (WireRejectionException e) {
                deadLetter(record, new Verdict.Rejected(e.reason(), e.getMessage()));
            } catch (IllegalArgumentException e) {
                deadLetter(record, new Verdict.Rejected(RejectReason.PROTOCOL, e.getMessage()));
            }
        }
    }

    private void dispatch(ConsumerRecord<String, byte[]> record, TappedSession tapped, Verdict.Accepted accepted) {
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
                String pass = SplitProtocol.pass(m);
                verifiers.verifier(session).orElseThrow().forgetSteps(RESTARTED_KINDS);
                matcher.forgetPass(session, pass);
                tapped.announced = KnownDefence.fromAttributes(m.attributes());
            }
            case ACTIVATION_UP -> {
                String pass = SplitProtocol.pass(m);
                StepMatcher.Activation a = new StepMatcher.Activation(accepted.tensor().orElseThrow(),
                        SplitProtocol.lengths(m), SplitProtocol.backward(m), pass,
                        SplitProtocol.noise(m).map(tapped.announced::withNoise).orElse(tapped.announced),
                        m.microBatch(), SplitProtocol.firstRow(m));
                if (!matcher.firstSighting(session, pass, m.step(), m.microBatch())) {
                    matcher.onResentActivation(session, m.step(), a, now);
                    return;
                }
                SamplingPolicy.Decision d = policy.decide(session, pass, m.step(), now);
                if (d == SamplingPolicy.Decision.RATE_LIMITED) {
                    dropped("rate_limited");
                } else if (d == SamplingPolicy.Decision.SAMPLED) {
                    matcher.onSampledActivation(session, m.step(), a, now).ifPresent(this::enqueue);
                }
            }
            case GRADIENT_UP -> {
                String pass = SplitProtocol.pass(m);
                if (policy.wants(session, pass, m.step())) {
                    matcher.onGradient(session, pass, m.step(), m.microBatch(), accepted.tensor().orElseThrow(), now)
                            .ifPresent(this::enqueue);
                }
            }
            case AUDIT_SCORE -> reports.score(session, AuditProtocol.decodeScores(accepted.event().payload()))
                    .forEach(this::publish);
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

    /**
     * Worker thread: the attacks run outside the lock, so the tap keeps consuming meanwhile. The reconstructions go
     * to the session's own client, which scores them against its rows; until then the points are unscored.
     */
    private void audit(SampledStep step) {
        Map<String, Reconstruction> results = suite.attack(step);
        runs.increment();
        // Keyed by attack id (the Reconstruction's own name is for display): the client checks ids.
        List<AuditProtocol.AttackReconstruction> sent = results.entrySet().stream()
                .map(e -> new AuditProtocol.AttackReconstruction(e.getKey(), e.getValue().tokens(),
                        e.getValue().confidence(), e.getValue().costMillis(), e.getValue().detail())).toList();
        TensorEventWriter writer = new TensorEventWriter(PRODUCER_ID, keys.apply(step.session()), limits);
        TensorEvent event = AuditProtocol.reconstructionEvent(writer, AuditProtocol.nextEventStep(lastEventStep),
                new AuditProtocol.Reconstructions(step.pass(), step.step(), step.firstRow(), sent,
                        suite.auxiliaryVocabulary()));
        String reconstruction = event.metadata().id();
        long now = clock.millis();
        synchronized (this) {
            // Points first, so a score that comes back at once finds the reconstruction it names.
            results.forEach((attack, r) -> publish(reports.add(step.session(), step.pass(), attack,
                    LeakagePoint.unscored(step.step(), step.firstRow(), r.confidence(), r.costMillis(), r.detail(),
                            reconstruction, now))));
        }
        events.reconstructions(writer.records(Topics.sessionDown(step.session()), event));
    }

    private void publish(LeakageReports.Update update) {
        LeakagePoint latest = update.series().latestScored();
        if (latest != null) {
            lastRougeL.computeIfAbsent(update.series().attack(), k -> new AtomicReference<>()).set(latest.rougeL());
        }
        events.report(update.series());
        update.alert().ifPresent(a -> {
            LOG.warnf("leakage alert: %s on session %s reached ROUGE-L F1 %.3f at %s step %d", a.attack(),
                    a.session(), a.rougeL(), a.pass(), a.step());
            events.alert(a);
        });
    }

    private void expireWaits() {
        List<SampledStep> forwardOnly;
        synchronized (this) {
            forwardOnly = matcher.expire(clock.millis());
            verifiers.expireIncomplete().forEach(set -> LOG.warnf("incomplete chunk set expired: %s", set));
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

    /** The session's headline leakage (max over scored training steps of the strongest attack), or null. */
    public AuditedSteps.Headline headline(String session) {
        return reports.headline(session);
    }

    public double alertThreshold() {
        return reports.alertThreshold();
    }

    public List<String> attackIds() {
        return suite.attackIds();
    }
}
