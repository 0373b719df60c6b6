package io.guardedtuning.session;

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

    private long lastForwardStep = -1;
    private HostTensor lastActivation;
    private long[] lastLengths;
    private boolean lastForBackward;
    private int attempt;

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
     * Announces this run to the server: its steps start again from wherever the client resumed. Call once before
     * the first step of every process start.
     */
    public void start(long runStartMillis) {
        send(writer.records(Topics.ACTIVATIONS_UP, writer.opaqueEvent(EventKind.CONTROL, runStartMillis, 0, 0,
                java.util.Map.of(SplitProtocol.ACTION, SplitProtocol.START), new byte[0])));
    }

    /** Offers one record from the session's down topic; called by the consumer thread. */
    public void onRecord(ConsumerRecord<String, byte[]> record) {
        Verdict v = verifier.verify(record);
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
    public HostTensor forward(long step, HostTensor hIn, long[] lengths, boolean forBackward) {
        lastForwardStep = step;
        lastActivation = hIn;
        lastLengths = lengths.clone();
        lastForBackward = forBackward;
        attempt = 0;
        for (int tries = 0; tries < settings.maxAttempts(); tries++) {
            sendActivation(step);
            Verdict.Accepted answer = await(EventKind.ACTIVATION_DOWN, step);
            if (answer != null) {
                return answer.tensor().orElseThrow();
            }
            retries.incrementAndGet();
            attempt++;
        }
        throw new IllegalStateException("no backbone answer for session " + session + " step " + step + " after "
                + settings.maxAttempts() + " attempts of " + settings.timeout().toMillis() + " ms");
    }

    @Override
    public HostTensor backward(long step, HostTensor gradOut) {
        if (step != lastForwardStep || !lastForBackward) {
            throw new IllegalStateException("backward for step " + step + " without its forward");
        }
        attempt++;
        for (int tries = 0; tries < settings.maxAttempts(); tries++) {
            sendGradient(step, gradOut);
            Verdict.Accepted answer = await(EventKind.GRADIENT_DOWN, step);
            if (answer != null && answer.event().metadata().kind() == EventKind.GRADIENT_DOWN) {
                return answer.tensor().orElseThrow();
            }
            if (answer == null) {
                retries.incrementAndGet();
            } else {
                // The server lost the step (eviction, restart, rebalance): give it the activation again, then retry.
                resendsServed.incrementAndGet();
                attempt++;
                sendActivation(step);
                Verdict.Accepted reforward = await(EventKind.ACTIVATION_DOWN, step);
                if (reforward == null) {
                    retries.incrementAndGet();
                }
            }
            attempt++;
        }
        throw new IllegalStateException("no gradient answer for session " + session + " step " + step + " after "
                + settings.maxAttempts() + " attempts");
    }

    private void sendActivation(long step) {
        TensorEvent e = writer.tensorEvent(EventKind.ACTIVATION_UP, step, 0, attempt,
                SplitProtocol.activationAttributes(lastLengths, lastForBackward, settings.bitsDown()),
                lastActivation, activationCodec);
        send(writer.records(Topics.ACTIVATIONS_UP, e));
    }

    private void sendGradient(long step, HostTensor gradOut) {
        TensorEvent e = writer.tensorEvent(EventKind.GRADIENT_UP, step, 0, attempt,
                SplitProtocol.gradientAttributes(settings.gradientBitsDown()), gradOut, gradientCodec);
        send(writer.records(Topics.GRADIENTS_UP, e));
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
