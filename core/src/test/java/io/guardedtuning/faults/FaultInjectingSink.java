package io.guardedtuning.faults;

import io.guardedtuning.session.RemoteBackboneLink.RecordSink;
import org.apache.kafka.clients.producer.ProducerRecord;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A sink that disturbs delivery in a fixed cycle, so every kind of fault occurs in a short run: a batch of records
 * passes, is sent twice, is delayed a little, is held until the next batch goes out (reordered), or is delayed
 * past the receiver's timeout. The first batch (the client's start event) always passes.
 */
public final class FaultInjectingSink implements RecordSink, AutoCloseable {

    enum Fault { PASS, DUPLICATE, SHORT_DELAY, REORDER, LONG_DELAY }

    private static final Fault[] CYCLE = {Fault.PASS, Fault.DUPLICATE, Fault.SHORT_DELAY, Fault.PASS,
            Fault.REORDER, Fault.PASS, Fault.DUPLICATE, Fault.LONG_DELAY};
    private static final long SHORT_DELAY_MS = 300;

    private final RecordSink target;
    private final long longDelayMillis;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "fault-injection");
        t.setDaemon(true);
        return t;
    });
    private final AtomicLong[] injected = new AtomicLong[Fault.values().length];
    private long batches;
    private List<ProducerRecord<String, byte[]>> held = new ArrayList<>();

    public FaultInjectingSink(RecordSink target, long longDelayMillis) {
        this.target = target;
        this.longDelayMillis = longDelayMillis;
        for (int i = 0; i < injected.length; i++) {
            injected[i] = new AtomicLong();
        }
    }

    @Override
    public synchronized void send(List<ProducerRecord<String, byte[]>> records) {
        if (records.isEmpty()) {
            return;
        }
        Fault fault = batches++ == 0 ? Fault.PASS : CYCLE[(int) (batches % CYCLE.length)];
        injected[fault.ordinal()].incrementAndGet();
        List<ProducerRecord<String, byte[]>> overtaken = held;
        held = new ArrayList<>();
        switch (fault) {
            case PASS -> target.send(records);
            case DUPLICATE -> {
                target.send(records);
                target.send(records);
            }
            case SHORT_DELAY -> later(records, SHORT_DELAY_MS);
            case REORDER -> held.addAll(records);
            case LONG_DELAY -> later(records, longDelayMillis);
        }
        target.send(overtaken);
    }

    private void later(List<ProducerRecord<String, byte[]>> records, long millis) {
        timer.schedule(() -> target.send(records), millis, TimeUnit.MILLISECONDS);
    }

    public long injected(Fault fault) {
        return injected[fault.ordinal()].get();
    }

    /**
     * Stops the timer. Called once the run is over, when the producers behind the target may be closed: records
     * still held back or delayed are dropped, as a network that lost them would.
     */
    @Override
    public synchronized void close() {
        held = new ArrayList<>();
        timer.shutdownNow();
    }
}
