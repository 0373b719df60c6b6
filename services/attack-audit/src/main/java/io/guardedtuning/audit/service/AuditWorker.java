package io.guardedtuning.audit.service;

import org.jboss.logging.Logger;

import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The one thread that runs attacks, away from the Kafka threads so the audit never slows consumption. Its queue is
 * bounded: when the attacks fall behind, new sampled steps are refused (the caller counts them as dropped). Between
 * steps it runs a periodic tick (expiring waits). One thread also keeps DJL's one-gradient-recorder rule.
 */
public final class AuditWorker implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(AuditWorker.class);
    private static final long TICK_MILLIS = 250;

    private final BlockingQueue<SampledStep> queue;
    private final Thread thread;
    private volatile boolean running = true;

    public AuditWorker(int capacity, Consumer<SampledStep> audit, Runnable tick) {
        this.queue = new ArrayBlockingQueue<>(capacity);
        this.thread = new Thread(() -> {
            while (running) {
                try {
                    SampledStep step = queue.poll(TICK_MILLIS, TimeUnit.MILLISECONDS);
                    if (step != null) {
                        audit.accept(step);
                    }
                    tick.run();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                } catch (RuntimeException e) {
                    // One bad step must not end the audit; attacks already turn their own failures into results.
                    LOG.error("audit step failed", e);
                }
            }
        }, "attack-audit-worker");
        thread.setDaemon(true);
    }

    public void start() {
        thread.start();
    }

    /** Queues a step; false when the queue is full (the step is dropped). */
    public boolean offer(SampledStep step) {
        return queue.offer(step);
    }

    public int queued() {
        return queue.size();
    }

    @Override
    public void close() throws InterruptedException {
        running = false;
        thread.interrupt();
        thread.join(30_000);
    }
}
