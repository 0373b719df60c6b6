package io.guardedtuning.session;

import io.guardedtuning.attack.KnownDefence;
import io.guardedtuning.messaging.Topics;
import io.guardedtuning.split.BackboneLink;
import io.guardedtuning.tensor.HostTensor;
import io.guardedtuning.wire.CodecSpec;
import io.guardedtuning.wire.DeadLetters;
import io.guardedtuning.wire.EventKind;
import io.guardedtuning.wire.EventMetadata;
import io.guardedtuning.wire.SessionKey;
import io.guardedtuning.wire.TensorEvent;
import io.guardedtuning.wire.TensorEventVerifier;
import io.guardedtuning.wire.TensorEventWriter;
import io.guardedtuning.wire.Verdict;
import io.guardedtuning.wire.WireLimits;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;

import java.time.Clock;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * The client's link to a backbone on the other side of Kafka. Each call sends a signed event, then waits for the
 * matching answer (same kind pair and step); answers for other steps (late, duplicated) are dropped. When no answer
 * comes in time the request is sent again with the next attempt number; when the server says it no longer holds a
 * step's activation, the activation is sent again first. After {@code maxAttempts} the call fails.
 *
 * <p>{@link #onRecord} is fed by the consumer of the session's down topic (one thread); the blocking calls run on
 * the training thread.
 */
public final class RemoteBackboneLink implements BackboneLink {

    /** The sending half: publishes records (the service's Kafka emitter or a producer). */
    @FunctionalInterface
    public interface RecordSink {
        void send(List<ProducerRecord<String, byte[]>> records);
    }

    public record Settings(int bitsUp, int bitsDown, int gradientBitsUp, int gradientBitsDown, Duration timeout,
                           int maxAttempts) {
        public Settings {
            Precision.requireSupported("activation up", bitsUp);
            Precision.requireSupported("activation down", bitsDown);
            Precision.requireSupported("gradient up", gradientBitsUp);
            Precision.requireSupported("gradient down", gradientBitsDown);
            if (maxAttempts < 1) {
                throw new IllegalArgumentException("maxAttempts must be >= 1");
            }
        }
    }

    /** What the link did, for the run summary and metrics. */
    public record Stats(long bytesUp, long messagesUp, long bytesDown, long messagesDown, long retries,
                        long resendsServed, long answersDropped, long rejected) {
    }

    private final String session;
    private final TensorEventWriter writer;
    private final TensorEventVerifier verifier;
    private final RecordSink sink;
    private final Settings settings;
    private final CodecSpec activationCodec;
    private final CodecSpec gradientCodec;
    private final BlockingQueue<Verdict.Accepted> answers = new LinkedBlockingQueue<>();
    private final AtomicLong bytesUp = new AtomicLong();
    private final AtomicLong messagesUp = new AtomicLong();
    private final AtomicLong bytesDown = new AtomicLong();
    private final AtomicLong messagesDown = new AtomicLong();
    private final AtomicLong retries = new AtomicLong();
    private final AtomicLong resendsServed = new AtomicLong();
    private final AtomicLong answersDropped = new AtomicLong();
    private final AtomicLong rejected = new AtomicLong();
    private final Consumer<ProducerRecord<String, byte[]>> deadLetters;

    /** The pass the latest start announced; every activation and gradient names it. */
    private volatile String pass = SplitProtocol.TRAIN;
    private long lastForwardStep = -1;
    private HostTensor lastActivation;
    private long[] lastLengths;
    private boolean lastForBackward;
    /** σ of the noise on the h_in being sent: the start's, or what the leakage budget raised it to since. */
    private volatile float noiseStd;
    private int attempt;
    /** Why the latest send failed (broker unreachable, buffer full), reported if the call finally fails. */
    private RuntimeException lastSendFailure;

    public RemoteBackboneLink(SessionKey key, String producerId, WireLimits limits, Settings settings,
                              RecordSink sink, Clock clock) {
        this.session = key.sessionId();
        this.writer = new TensorEventWriter(producerId, key, limits);
        this.verifier = new TensorEventVerifier(key, EnumSet.of(EventKind.ACTIVATION_DOWN, EventKind.GRADIENT_DOWN,
                EventKind.CONTROL), limits, clock);
        this.sink = sink;
        this.settings = settings;
        this.activationCodec = Precision.activations(settings.bitsUp());
        this.gradientCodec = Precision.gradients(settings.gradientBitsUp());
        this.deadLetters = r -> sink.send(List.of(r));
    }

    /**
     * Announces a run or a pass to the server: its steps start again from wherever the client resumed, or from 0
     * for an evaluation pass. Call before the first step of every process start and of every pass.
     *
     * @param pass    the pass its steps belong to ({@link SplitProtocol#TRAIN}, {@link SplitProtocol#EVAL_BEFORE}, ...)
     * @param defence what the provider may know of the session's defence (announced in the start)
     */
    public void start(long runStartMillis, String pass, KnownDefence defence) {
        this.pass = SplitProtocol.requirePass(pass);
        this.noiseStd = defence.noiseStd();
        synchronized (verifier) {
            // A new pass numbers its steps from 0 again: answers of the previous pass are neither stale nor valid.
            verifier.forgetSteps(EnumSet.of(EventKind.ACTIVATION_DOWN, EventKind.GRADIENT_DOWN, EventKind.CONTROL));
            answers.clear();
        }
        send(writer.records(Topics.ACTIVATIONS_UP, writer.opaqueEvent(EventKind.CONTROL, runStartMillis, 0, 0,
                SplitProtocol.startAttributes(pass, defence), new byte[0])));
    }

    /** Offers one record from the session's down topic; called by the consumer thread. */
    public void onRecord(ConsumerRecord<String, byte[]> record) {
        Verdict v;
        synchronized (verifier) {
            v = verifier.verify(record);
        }
        if (v instanceof Verdict.Rejected r) {
            rejected.incrementAndGet();
            deadLetters.accept(DeadLetters.record(Topics.DEAD_LETTER, record, r));
            return;
        }
        bytesDown.addAndGet(record.serializedValueSize());
        messagesDown.incrementAndGet();
        if (v instanceof Verdict.Accepted a) {
            answers.add(a);
        }
    }

    @Override
    public void noiseApplied(float noiseStd) {
        this.noiseStd = noiseStd;
    }

    @Override
    public HostTensor forward(long step, HostTensor hIn, long[] lengths, boolean forBackward) {
        lastForwardStep = step;
        lastActivation = hIn;
        lastLengths = lengths.clone();
        lastForBackward = forBackward;
        attempt = 0;
        lastSendFailure = null;
        for (int tries = 0; tries < settings.maxAttempts(); tries++) {
            Verdict.Accepted answer = sendActivation(step) ? await(EventKind.ACTIVATION_DOWN, step) : null;
            if (answer != null) {
                return answer.tensor().orElseThrow();
            }
            retries.incrementAndGet();
            attempt++;
        }
        throw failure("no backbone answer", step);
    }

    @Override
    public HostTensor backward(long step, HostTensor gradOut) {
        if (step != lastForwardStep || !lastForBackward) {
            throw new IllegalStateException("backward for step " + step + " without its forward");
        }
        attempt++;
        lastSendFailure = null;
        for (int tries = 0; tries < settings.maxAttempts(); tries++) {
            Verdict.Accepted answer = sendGradient(step, gradOut) ? await(EventKind.GRADIENT_DOWN, step) : null;
            if (answer != null && answer.event().metadata().kind() == EventKind.GRADIENT_DOWN) {
                return answer.tensor().orElseThrow();
            }
            if (answer == null) {
                retries.incrementAndGet();
            } else {
                // The server lost the step (eviction, restart, rebalance): give it the activation again, then retry.
                resendsServed.incrementAndGet();
                attempt++;
                Verdict.Accepted reforward = sendActivation(step) ? await(EventKind.ACTIVATION_DOWN, step) : null;
                if (reforward == null) {
                    retries.incrementAndGet();
                }
            }
            attempt++;
        }
        throw failure("no gradient answer", step);
    }

    private IllegalStateException failure(String what, long step) {
        String message = what + " for session " + session + " step " + step + " after " + settings.maxAttempts()
                + " attempts of " + settings.timeout().toMillis() + " ms";
        return lastSendFailure == null ? new IllegalStateException(message)
                : new IllegalStateException(message + "; the last send failed: " + lastSendFailure.getMessage(),
                        lastSendFailure);
    }

    private boolean sendActivation(long step) {
        TensorEvent e = writer.tensorEvent(EventKind.ACTIVATION_UP, step, 0, attempt,
                SplitProtocol.activationAttributes(lastLengths, lastForBackward, settings.bitsDown(), pass, noiseStd),
                lastActivation, activationCodec);
        return trySend(writer.records(Topics.ACTIVATIONS_UP, e));
    }

    private boolean sendGradient(long step, HostTensor gradOut) {
        TensorEvent e = writer.tensorEvent(EventKind.GRADIENT_UP, step, 0, attempt,
                SplitProtocol.gradientAttributes(settings.gradientBitsDown(), pass), gradOut, gradientCodec);
        return trySend(writer.records(Topics.GRADIENTS_UP, e));
    }

    /** A request that cannot be sent is a failed attempt like an unanswered one, not the end of the run. */
    private boolean trySend(List<ProducerRecord<String, byte[]>> records) {
        try {
            send(records);
            return true;
        } catch (RuntimeException e) {
            lastSendFailure = e;
            return false;
        }
    }

    private void send(List<ProducerRecord<String, byte[]>> records) {
        for (ProducerRecord<String, byte[]> r : records) {
            bytesUp.addAndGet(r.value().length);
            messagesUp.incrementAndGet();
        }
        sink.send(records);
    }

    /**
     * Waits for the answer to {@code kind}'s request at {@code step}; a CONTROL resend for the step also ends the
     * wait (returned as is). Anything else is stale and dropped. Returns null on timeout.
     */
    private Verdict.Accepted await(EventKind kind, long step) {
        long deadline = System.nanoTime() + settings.timeout().toNanos();
        try {
            while (true) {
                long left = deadline - System.nanoTime();
                Verdict.Accepted a = left <= 0 ? null : answers.poll(left, TimeUnit.NANOSECONDS);
                if (a == null) {
                    return null;
                }
                EventMetadata m = a.event().metadata();
                boolean resend = m.kind() == EventKind.CONTROL
                        && SplitProtocol.RESEND.equals(m.attribute(SplitProtocol.ACTION));
                if (m.step() == step && (m.kind() == kind || (resend && kind == EventKind.GRADIENT_DOWN))) {
                    return a;
                }
                answersDropped.incrementAndGet();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for the backbone", e);
        }
    }

    public Stats stats() {
        return new Stats(bytesUp.get(), messagesUp.get(), bytesDown.get(), messagesDown.get(), retries.get(),
                resendsServed.get(), answersDropped.get(), rejected.get());
    }

    public String session() {
        return session;
    }
}
