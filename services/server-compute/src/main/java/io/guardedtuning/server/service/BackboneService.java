package io.guardedtuning.server.service;

import io.guardedtuning.server.config.ServerConfig;
import io.guardedtuning.service.messaging.KafkaPublisher;
import io.guardedtuning.session.BackboneEndpoint;
import io.guardedtuning.session.SessionMeter;
import io.guardedtuning.split.BackboneServer;
import io.guardedtuning.messaging.Topics;
import io.guardedtuning.wire.DeadLetters;
import io.guardedtuning.wire.RejectReason;
import io.guardedtuning.wire.WireHeaders;
import io.guardedtuning.wire.WireLimits;
import io.quarkus.runtime.Startup;
import jakarta.annotation.PostConstruct;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.jboss.logging.Logger;
import org.jboss.logging.MDC;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The backbone and the protocol endpoint in front of it, driven by one dedicated thread: PyTorch allows one
 * gradient recorder per process, and the endpoint's caches are not thread-safe, so every record of both up topics
 * and the periodic chunk-set expiry run there, one at a time. Holds only bounded caches (held activations, recent
 * answers): any replica can serve a session, and one that lost a session's step asks the client to resend it.
 */
@Startup
@ApplicationScoped
public class BackboneService {

    private static final Logger LOG = Logger.getLogger(BackboneService.class);
    /** MDC key of the session a log line is about. */
    public static final String MDC_SESSION = "session";

    @Inject
    ServerConfig config;
    @Inject
    KafkaPublisher publisher;

    private BackboneSetup.Loaded loaded;
    private BackboneServer server;
    private BackboneEndpoint endpoint;
    private ScheduledExecutorService worker;
    private final AtomicLong failures = new AtomicLong();
    private volatile boolean ready;
    private volatile Runnable afterEachRecord = () -> { };

    @PostConstruct
    void start() {
        loaded = BackboneSetup.load(config);
        server = new BackboneServer(loaded.trunk(), loaded.split(), config.maxHeldSteps());
        endpoint = new BackboneEndpoint(server, loaded.keys(), WireLimits.chunkedDefaults(), config.producerId(),
                Clock.systemUTC());
        worker = Executors.newSingleThreadScheduledExecutor(r -> new Thread(r, "backbone"));
        long every = config.expireEvery().toMillis();
        worker.scheduleWithFixedDelay(this::expireIncomplete, every, every, TimeUnit.MILLISECONDS);
        ready = true;
        LOG.infof("backbone of %s loaded: layers [%d, %d) of %d, %d parameters", loaded.modelDirectory(),
                loaded.split().trunkFrom(), loaded.split().trunkTo(), loaded.split().layers(),
                loaded.trunk().parameterCount());
    }

    /**
     * Handles one up-topic record on the backbone thread and publishes what the endpoint answers (answers, resend
     * requests, dead letters). Completes normally even when something unexpected fails, so one bad record never
     * stops the channel.
     */
    public CompletionStage<Void> handle(ConsumerRecord<String, byte[]> record) {
        return CompletableFuture.runAsync(() -> handleNow(record), worker);
    }

    private void handleNow(ConsumerRecord<String, byte[]> record) {
        MDC.put(MDC_SESSION, String.valueOf(record.key()));
        try {
            List<ProducerRecord<String, byte[]>> out = endpoint.handle(record);
            publisher.send(out);
            logOutcome(record, out);
            afterEachRecord.run();
        } catch (RuntimeException e) {
            failures.incrementAndGet();
            LOG.errorf(e, "failed on %s[%d]@%d", record.topic(), record.partition(), record.offset());
        } finally {
            MDC.remove(MDC_SESSION);
        }
    }

    private static void logOutcome(ConsumerRecord<String, byte[]> in, List<ProducerRecord<String, byte[]>> out) {
        for (ProducerRecord<String, byte[]> r : out) {
            if (Topics.DEAD_LETTER.equals(r.topic())) {
                LOG.warnf("dead-lettered %s[%d]@%d: %s %s", in.topic(), in.partition(), in.offset(),
                        header(r, DeadLetters.REASON), header(r, DeadLetters.DETAIL));
                return;
            }
        }
        if (LOG.isDebugEnabled()) {
            LOG.debugf("%s step %s -> %d record(s)", header(in, WireHeaders.KIND), header(in, WireHeaders.STEP),
                    out.size());
        }
    }

    private static String header(ConsumerRecord<String, byte[]> r, String name) {
        return value(r.headers().lastHeader(name));
    }

    private static String header(ProducerRecord<String, byte[]> r, String name) {
        return value(r.headers().lastHeader(name));
    }

    private static String value(Header h) {
        return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }

    private void expireIncomplete() {
        try {
            endpoint.expireIncomplete().forEach(set -> LOG.warnf("incomplete chunk set expired: %s", set));
        } catch (RuntimeException e) {
            LOG.error("chunk-set expiry failed", e);
        }
    }

    /** Runs on the backbone thread after each record (metrics registration). */
    public void afterEachRecord(Runnable action) {
        afterEachRecord = action;
    }

    public boolean ready() {
        return ready;
    }

    public Map<String, SessionMeter.Counters> sessions() {
        return endpoint.meter().snapshot();
    }

    public Map<RejectReason, Long> rejections() {
        return endpoint.rejections();
    }

    /** Records that failed for a reason other than their content (a bug or a resource problem): logged. */
    public long failures() {
        return failures.get();
    }

    @PreDestroy
    void stop() throws InterruptedException {
        ready = false;
        worker.shutdown();
        worker.awaitTermination(30, TimeUnit.SECONDS);
        server.close();
        loaded.trunk().close();
    }
}
