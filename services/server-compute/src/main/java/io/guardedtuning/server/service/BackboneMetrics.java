package io.guardedtuning.server.service;

import io.guardedtuning.session.SessionMeter;
import io.guardedtuning.wire.RejectReason;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.Startup;
import jakarta.annotation.PostConstruct;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.ToLongFunction;

/**
 * Exposes the endpoint's own counters to Micrometer (Prometheus at /q/metrics) instead of counting twice: per
 * session bytes and messages each way, compute time, retries answered, resends and restarts; dead letters per
 * reason. Sessions are registered as they appear; a scrape reads one snapshot, not one per meter.
 */
@Startup
@ApplicationScoped
public class BackboneMetrics {

    private static final long SNAPSHOT_MILLIS = 1000;

    @Inject
    MeterRegistry registry;
    @Inject
    BackboneService backbone;

    private final Set<String> registered = ConcurrentHashMap.newKeySet();
    private volatile Map<String, SessionMeter.Counters> snapshot = Map.of();
    private volatile long snapshotAt;

    @PostConstruct
    void register() {
        for (RejectReason reason : RejectReason.values()) {
            FunctionCounter.builder("gt.server.dead.letters", backbone,
                            b -> b.rejections().getOrDefault(reason, 0L))
                    .tag("reason", reason.name()).description("Records dead-lettered, by reason").register(registry);
        }
        FunctionCounter.builder("gt.server.failures", backbone, BackboneService::failures)
                .description("Records that failed for reasons other than their content").register(registry);
        Gauge.builder("gt.server.sessions", this, m -> m.counters().size())
                .description("Sessions seen since start").register(registry);
        backbone.afterEachRecord(this::registerNewSessions);
    }

    /** Sessions appear in the meter only once a record of theirs passed verification: forged keys add no meters. */
    private void registerNewSessions() {
        backbone.sessions().keySet().forEach(this::registerSession);
    }

    private void registerSession(String session) {
        if (!registered.add(session)) {
            return;
        }
        sessionCounter("gt.server.bytes.in", session, SessionMeter.Counters::bytesIn, "Payload bytes received");
        sessionCounter("gt.server.messages.in", session, SessionMeter.Counters::messagesIn, "Records received");
        sessionCounter("gt.server.bytes.out", session, SessionMeter.Counters::bytesOut, "Payload bytes sent");
        sessionCounter("gt.server.messages.out", session, SessionMeter.Counters::messagesOut, "Records sent");
        sessionCounter("gt.server.compute.millis", session, SessionMeter.Counters::computeMillis,
                "Backbone compute time");
        sessionCounter("gt.server.retries.answered", session, SessionMeter.Counters::retriesAnswered,
                "Retried requests answered from the cache");
        sessionCounter("gt.server.resends.requested", session, SessionMeter.Counters::resendsRequested,
                "Resend requests for steps no longer held");
        sessionCounter("gt.server.restarts", session, SessionMeter.Counters::restarts, "Client run starts");
    }

    private void sessionCounter(String name, String session, ToLongFunction<SessionMeter.Counters> field,
                                String description) {
        FunctionCounter.builder(name, this, m -> {
            SessionMeter.Counters c = m.counters().get(session);
            return c == null ? 0 : field.applyAsLong(c);
        }).tag("session", session).description(description).register(registry);
    }

    private Map<String, SessionMeter.Counters> counters() {
        long now = System.currentTimeMillis();
        if (now - snapshotAt > SNAPSHOT_MILLIS) {
            snapshot = backbone.sessions();
            snapshotAt = now;
        }
        return snapshot;
    }
}
