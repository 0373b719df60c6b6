package io.guardedtuning.session;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/** Per-session cost counters of one party: bytes and messages each way, compute time, retries and resends. */
public final class SessionMeter {

    /** A snapshot of one session's counters. */
    public record Counters(long bytesIn, long messagesIn, long bytesOut, long messagesOut, long computeMillis,
                           long retriesAnswered, long resendsRequested, long restarts) {
    }

    private static final class Live {
        final AtomicLong bytesIn = new AtomicLong();
        final AtomicLong messagesIn = new AtomicLong();
        final AtomicLong bytesOut = new AtomicLong();
        final AtomicLong messagesOut = new AtomicLong();
        final AtomicLong computeMillis = new AtomicLong();
        final AtomicLong retriesAnswered = new AtomicLong();
        final AtomicLong resendsRequested = new AtomicLong();
        final AtomicLong restarts = new AtomicLong();
    }

    private final Map<String, Live> sessions = new ConcurrentHashMap<>();

    private Live live(String session) {
        return sessions.computeIfAbsent(session, s -> new Live());
    }

    void received(String session, long bytes) {
        live(session).bytesIn.addAndGet(bytes);
        live(session).messagesIn.incrementAndGet();
    }

    void sent(String session, int messages, long bytes) {
        live(session).bytesOut.addAndGet(bytes);
        live(session).messagesOut.addAndGet(messages);
    }

    void computed(String session, long millis) {
        live(session).computeMillis.addAndGet(millis);
    }

    void retryAnswered(String session) {
        live(session).retriesAnswered.incrementAndGet();
    }

    void resendRequested(String session) {
        live(session).resendsRequested.incrementAndGet();
    }

    void restarted(String session) {
        live(session).restarts.incrementAndGet();
    }

    public Map<String, Counters> snapshot() {
        Map<String, Counters> out = new TreeMap<>();
        sessions.forEach((id, l) -> out.put(id, new Counters(l.bytesIn.get(), l.messagesIn.get(), l.bytesOut.get(),
                l.messagesOut.get(), l.computeMillis.get(), l.retriesAnswered.get(), l.resendsRequested.get(),
                l.restarts.get())));
        return out;
    }
}
