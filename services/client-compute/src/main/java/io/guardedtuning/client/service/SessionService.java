package io.guardedtuning.client.service;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.guardedtuning.client.config.ClientConfig;
import io.guardedtuning.client.config.ClientSettings;
import io.guardedtuning.engine.DjlRuntime;
import io.guardedtuning.service.config.ConfigProblems;
import io.guardedtuning.service.messaging.KafkaPublisher;
import io.guardedtuning.service.messaging.TopicAdmin;
import io.guardedtuning.session.RemoteBackboneLink;
import io.guardedtuning.split.Design;
import io.guardedtuning.storage.AtomicFiles;
import io.guardedtuning.wire.SessionKey;
import io.guardedtuning.wire.WireLimits;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.Quarkus;
import io.quarkus.runtime.Startup;
import jakarta.annotation.PostConstruct;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;
import org.jboss.logging.MDC;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.ToLongFunction;

/**
 * This process's one session: its links to the backbone (fed by the down-topic consumer), the session thread that
 * runs {@link SplitRun}, its progress and summary. The configuration is checked when the service starts.
 */
@Startup
@ApplicationScoped
public class SessionService {

    private static final Logger LOG = Logger.getLogger(SessionService.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    /** How long the session thread waits for the down-topic consumer to be positioned before sending anything. */
    private static final long DOWN_TOPIC_WAIT_SECONDS = 60;

    @Inject
    ClientConfig config;
    @Inject
    KafkaPublisher publisher;
    @Inject
    MeterRegistry registry;
    @ConfigProperty(name = "kafka.bootstrap.servers")
    String bootstrapServers;
    @ConfigProperty(name = "mp.messaging.incoming.session-down.topic")
    String downTopic;

    private ClientSettings settings;
    /** The split designs' links to the backbone; null in the Offline design. */
    private BackboneLinks links;
    /** The Offline design's run; null in the split designs. */
    private OfflineRun offline;
    private final CountDownLatch downTopicReady = new CountDownLatch(1);
    private Counter stepCounter;
    private volatile SessionProgress.Phase phase = SessionProgress.Phase.IDLE;
    private volatile long step;
    private volatile long totalSteps;
    private volatile double lastLoss = Double.NaN;
    private volatile String error;
    private volatile ObjectNode summary;

    @PostConstruct
    void init() {
        DjlRuntime.configure();
        settings = ClientSettings.from(config);
        if (!settings.downTopic().equals(downTopic)) {
            ConfigProblems problems = new ConfigProblems("client-compute");
            problems.add("mp.messaging.incoming.session-down.topic",
                    "must be " + settings.downTopic() + " for session " + settings.session().sessionId());
            problems.throwIfAny();
        }
        if (settings.session().design() == Design.OFFLINE) {
            offline = new OfflineRun(settings, publisher, new Listener());
        } else {
            links = new BackboneLinks(settings, publisher::send);
        }
        registerMetrics();
        try {
            TopicAdmin.ensure(bootstrapServers, downTopic, WireLimits.chunkedDefaults().topicConfig());
        } catch (Exception e) {
            LOG.warnf("could not create %s (it must exist for answers to arrive): %s", downTopic, e.toString());
        }
        if (settings.autostart()) {
            start();
        }
    }

    private void registerMetrics() {
        stepCounter = Counter.builder("gt.client.steps").description("Training steps done").register(registry);
        Gauge.builder("gt.client.loss", this, s -> s.lastLoss).description("Task loss of the last step")
                .register(registry);
        linkCounter("gt.client.bytes.up", RemoteBackboneLink.Stats::bytesUp, "Payload bytes sent");
        linkCounter("gt.client.bytes.down", RemoteBackboneLink.Stats::bytesDown, "Payload bytes received");
        linkCounter("gt.client.messages.up", RemoteBackboneLink.Stats::messagesUp, "Records sent");
        linkCounter("gt.client.messages.down", RemoteBackboneLink.Stats::messagesDown, "Records received");
        linkCounter("gt.client.retries", RemoteBackboneLink.Stats::retries, "Requests sent again after a timeout");
        linkCounter("gt.client.resends", RemoteBackboneLink.Stats::resendsServed,
                "Activations sent again on the server's request");
        linkCounter("gt.client.rejected", RemoteBackboneLink.Stats::rejected, "Down records that failed verification");
    }

    private void linkCounter(String name, ToLongFunction<RemoteBackboneLink.Stats> field, String description) {
        FunctionCounter.builder(name, this, s -> field.applyAsLong(s.traffic()))
                .tag("session", settings.session().sessionId()).description(description).register(registry);
    }

    /** Starts the session thread; false when it was started before. */
    public synchronized boolean start() {
        if (phase != SessionProgress.Phase.IDLE) {
            return false;
        }
        phase = SessionProgress.Phase.LOADING;
        Thread thread = new Thread(this::runSession, "client-session");
        thread.setDaemon(true);
        thread.start();
        return true;
    }

    private void runSession() {
        MDC.put("session", settings.session().sessionId());
        ObjectNode out = JSON.createObjectNode();
        out.set("settings", SplitRun.describe(settings, JSON));
        SessionProgress.Phase outcome;
        try {
            if (!downTopicReady.await(DOWN_TOPIC_WAIT_SECONDS, TimeUnit.SECONDS)) {
                LOG.warnf("no partition of %s assigned after %d s; starting anyway", downTopic,
                        DOWN_TOPIC_WAIT_SECONDS);
            }
            if (offline != null) {
                offline.run(out);
            } else {
                new SplitRun(settings, links, new Listener()).run(out);
            }
            out.put("status", "done");
            outcome = SessionProgress.Phase.DONE;
            LOG.infof("session done: %d steps, loss %.4f", (Object) step, lastLoss);
        } catch (Exception | LinkageError e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            error = e.toString();
            out.put("status", "failed").put("error", error);
            outcome = SessionProgress.Phase.FAILED;
            LOG.error("session failed", e);
        }
        out.set("link", JSON.valueToTree(traffic()));
        boolean written = writeSummary(out);
        summary = out;
        // Last, so whoever sees the final phase also finds the summary on disk.
        phase = outcome;
        MDC.remove("session");
        int exitCode = outcome == SessionProgress.Phase.DONE && written ? 0 : 1;
        if (settings.exitOnFinish()) {
            Quarkus.asyncExit(exitCode);
        }
    }

    private boolean writeSummary(ObjectNode out) {
        Path path = settings.summaryPath().toAbsolutePath();
        try {
            Files.createDirectories(path.getParent());
            AtomicFiles.write(path, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(out));
            LOG.infof("summary written to %s", path);
            return true;
        } catch (Exception e) {
            LOG.errorf(e, "cannot write the summary to %s (gt.client.summary-path)", path);
            return false;
        }
    }

    /** Hands one down-topic record to the link or the Offline run (consumer thread). */
    public void onDownRecord(ConsumerRecord<String, byte[]> record) {
        if (offline != null) {
            offline.onRecord(record);
        } else {
            links.onRecord(record);
        }
    }

    /** Bytes and records each way so far, whichever the design. */
    private RemoteBackboneLink.Stats traffic() {
        return offline != null ? offline.stats() : links.stats();
    }

    /** The down-topic consumer has its partitions, positioned at their ends: answers can no longer be missed. */
    public void downTopicPositioned() {
        downTopicReady.countDown();
    }

    public SessionProgress progress() {
        return new SessionProgress(phase, step, totalSteps, lastLoss, traffic(), error);
    }

    /** The summary once the run ended (done or failed). */
    public Optional<ObjectNode> summary() {
        return Optional.ofNullable(summary);
    }

    /** The key of this client's one session (owner tokens of other sessions do not verify here). */
    public SessionKey key() {
        return settings.key();
    }

    public boolean autostart() {
        return settings.autostart();
    }

    private final class Listener implements SplitRun.Listener {
        @Override
        public void phase(SessionProgress.Phase p) {
            phase = p;
            LOG.infof("phase %s", p);
        }

        @Override
        public void totalSteps(long steps) {
            totalSteps = steps;
        }

        @Override
        public void step(long index, double taskLoss) {
            step = index + 1;
            lastLoss = taskLoss;
            stepCounter.increment();
            LOG.debugf("step %d loss %.4f", (Object) index, taskLoss);
        }
    }
}
