package io.guardedtuning.emulator.service;

import io.guardedtuning.offline.EmulatorRequest;

import java.time.Instant;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

/** One session's emulator job: mutated by the worker thread, read by REST and the consumers. */
final class Job {

    enum Phase {
        QUEUED, BUILDING, DISTILLING, GUARDING, WATERMARKING, PUBLISHING, PUBLISHED, PLUGGED_IN,
        CANCELLED, REFUSED, FAILED;

        String label() {
            return name().toLowerCase(Locale.ROOT).replace('_', '-');
        }

        static Phase of(String label) {
            return valueOf(label.toUpperCase(Locale.ROOT).replace('-', '_'));
        }

        /** Phases after which the job does not run again (adapters may still arrive for published ones). */
        boolean finished() {
            return this == PUBLISHED || ended();
        }

        /** Nothing more will happen: plugged in, or stopped before a release. */
        boolean ended() {
            return this == PLUGGED_IN || this == CANCELLED || this == REFUSED || this == FAILED;
        }

        boolean released() {
            return this == PUBLISHED || this == PLUGGED_IN;
        }
    }

    private final EmulatorRequest request;
    private final AtomicBoolean cancelRequested = new AtomicBoolean();
    private Phase phase = Phase.QUEUED;
    private long step;
    private long total;
    private Double loss;
    private String detail;
    private int[] keptFullLayers;
    private String packageDigest;
    private Long packageBytes;
    private Map<String, Object> result;
    private Instant updated = Instant.now();
    private long lastRequestMillis;

    Job(EmulatorRequest request, long requestMillis) {
        this.request = request;
        this.lastRequestMillis = requestMillis;
    }

    static Job restore(JobStatus s) {
        Job job = new Job(s.request(), s.lastRequestMillis());
        job.phase = Phase.of(s.phase());
        job.step = s.step();
        job.total = s.total();
        job.loss = s.loss();
        job.detail = s.detail();
        job.keptFullLayers = s.keptFullLayers();
        job.packageDigest = s.packageDigest();
        job.packageBytes = s.packageBytes();
        job.result = s.result();
        return job;
    }

    EmulatorRequest request() {
        return request;
    }

    String session() {
        return request.session();
    }

    void requestCancel() {
        cancelRequested.set(true);
    }

    boolean cancelRequested() {
        return cancelRequested.get();
    }

    /** Records a newer signed request of the session; false when it is not newer (a replay). */
    synchronized boolean acceptRequest(long sentMillis) {
        if (sentMillis <= lastRequestMillis) {
            return false;
        }
        lastRequestMillis = sentMillis;
        return true;
    }

    synchronized long lastRequestMillis() {
        return lastRequestMillis;
    }

    synchronized Phase phase() {
        return phase;
    }

    synchronized String packageDigest() {
        return packageDigest;
    }

    synchronized void enter(Phase next, String why) {
        phase = next;
        detail = why;
        updated = Instant.now();
    }

    synchronized void progress(long step, long total, double loss) {
        this.step = step;
        this.total = total;
        this.loss = loss;
        updated = Instant.now();
    }

    synchronized void keptFullLayers(int[] layers) {
        keptFullLayers = layers.clone();
    }

    synchronized void published(String digest, long bytes) {
        packageDigest = digest;
        packageBytes = bytes;
    }

    synchronized void result(Map<String, Object> r) {
        result = r;
    }

    synchronized JobStatus status() {
        return new JobStatus(session(), request, phase.label(), step, total, loss, detail, keptFullLayers,
                packageDigest, packageBytes, result, updated, lastRequestMillis);
    }
}
