package io.guardedtuning.session;

import io.guardedtuning.attack.KnownDefence;
import io.guardedtuning.messaging.Topics;
import io.guardedtuning.split.BackboneLink;
import io.guardedtuning.split.MicroBatches;
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
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * The client's link to a backbone on the other side of Kafka. Each call sends a signed event, then waits for the
 * matching answer (same kind pair, step and micro-batch); answers for other steps (late, duplicated) are dropped.
 * A step may go in micro-batches ({@link Settings#microBatches}), pipelined with the client's top half, and a
 * Gradfree step's h_in may go ahead ({@link #sendAhead}) while the step before it runs. When no answer
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

    /**
     * @param microBatches parts each step is cut into on the wire (1 = unpipelined, {@link MicroBatches#AUTO} = by
     *                     the size of h_in); the step's result is the same
     */
    public record Settings(int bitsUp, int bitsDown, int gradientBitsUp, int gradientBitsDown, Duration timeout,
                           int maxAttempts, int microBatches, boolean sendAhead) {
        public Settings(int bitsUp, int bitsDown, int gradientBitsUp, int gradientBitsDown, Duration timeout,
                        int maxAttempts) {
            this(bitsUp, bitsDown, gradientBitsUp, gradientBitsDown, timeout, maxAttempts, 1, true);
        }

        public Settings {
            MicroBatches.requireValid(microBatches);
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
    /** A part of the current step as sent, kept for resends. */
    private static final class Sent {
        final MicroBatches.Part part;
        final HostTensor hIn;
        final long[] lengths;
        int attempt;

        Sent(MicroBatches.Part part, HostTensor hIn, long[] lengths) {
            this.part = part;
            this.hIn = hIn;
            this.lengths = lengths.clone();
        }
    }

    /** The parts of a later forward-only step whose h_in went ahead, and whether each one's send got out. */
    private record Ahead(HostTensor hIn, List<MicroBatches.Part> plan, Sent[] parts, boolean[] sent) {
    }

    private record AnswerKey(EventKind kind, long step, int micro) {
    }

    private long currentStep = -1;
    private boolean currentForBackward;
    private Sent[] parts = new Sent[0];
    /** Later steps sent ahead ({@link #sendAhead}), by step. */
    private final TreeMap<Long, Ahead> ahead = new TreeMap<>();
    /** Answers that came before their turn: parts of the current step, or of a step sent ahead (one per kind and part). */
    private final Map<AnswerKey, Verdict.Accepted> early = new HashMap<>();
    /** σ of the noise on the h_in being sent: the start's, or what the leakage budget raised it to since. */
    private volatile float noiseStd;
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
        ahead.clear();
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
        MicroBatches.Part whole = MicroBatches.whole(hIn);
        begin(step, forBackward, List.of(whole), false);
        parts[0] = new Sent(whole, hIn, lengths);
        return awaitForward(0, sendActivation(0));
    }

    @Override
    public HostTensor backward(long step, HostTensor gradOut) {
        if (step != currentStep || !currentForBackward || parts.length != 1) {
            throw new IllegalStateException("backward for step " + step + " without its forward");
        }
        return awaitGradient(0, gradOut, sendFirstGradient(0, gradOut));
    }

    /**
     * The step cut into the configured number of micro-batches: every part's h_in goes out at once, the top half
     * runs on each h_out as it arrives (the backbone meanwhile computes the next part) and its gradient goes back at
     * once; dL/dh_in comes back in parts and is put together.
     */
    @Override
    public HostTensor exchange(long step, HostTensor hIn, long[] lengths, boolean forBackward, Top top) {
        Ahead went = forBackward ? null : ahead.get(step);
        boolean wentAhead = went != null && went.hIn() == hIn;
        List<MicroBatches.Part> plan = wentAhead ? went.plan() : plan(hIn, lengths);
        begin(step, forBackward, plan, wentAhead);
        boolean[] sent;
        if (wentAhead) {
            parts = went.parts();
            sent = went.sent();
        } else {
            parts = sentParts(plan, hIn, lengths);
            sent = new boolean[plan.size()];
            for (MicroBatches.Part p : plan) {
                sent[p.index()] = sendActivation(p.index());
            }
        }
        HostTensor[] gradOut = new HostTensor[plan.size()];
        boolean[] gradientSent = new boolean[plan.size()];
        for (MicroBatches.Part p : plan) {
            HostTensor gOut = top.apply(p, awaitForward(p.index(), sent[p.index()]));
            if (forBackward) {
                gradOut[p.index()] = gOut;
                gradientSent[p.index()] = sendFirstGradient(p.index(), gOut);
            }
        }
        if (!forBackward) {
            return null;
        }
        if (plan.size() == 1) {
            return awaitGradient(0, gradOut[0], gradientSent[0]);
        }
        HostTensor gradIn = new HostTensor(hIn.shape(), new float[hIn.data().length]);
        for (MicroBatches.Part p : plan) {
            MicroBatches.place(awaitGradient(p.index(), gradOut[p.index()], gradientSent[p.index()]), p, gradIn);
        }
        return gradIn;
    }

    /**
     * A later forward-only step's h_in goes out now, in the parts its exchange would cut it into; at most
     * {@link #MAX_AHEAD} steps are out ahead. A part whose send fails is sent again by the exchange.
     */
    @Override
    public void sendAhead(long step, HostTensor hIn, long[] lengths) {
        if (!settings.sendAhead() || step <= currentStep || ahead.containsKey(step) || ahead.size() >= MAX_AHEAD) {
            return;
        }
        List<MicroBatches.Part> plan = plan(hIn, lengths);
        Sent[] aheadParts = sentParts(plan, hIn, lengths);
        boolean[] sent = new boolean[plan.size()];
        for (MicroBatches.Part p : plan) {
            sent[p.index()] = sendActivation(step, false, aheadParts[p.index()]);
        }
        ahead.put(step, new Ahead(hIn, plan, aheadParts, sent));
    }

    private List<MicroBatches.Part> plan(HostTensor hIn, long[] lengths) {
        return MicroBatches.plan(lengths, MicroBatches.parts(settings.microBatches(), hIn));
    }

    private static Sent[] sentParts(List<MicroBatches.Part> plan, HostTensor hIn, long[] lengths) {
        Sent[] out = new Sent[plan.size()];
        for (MicroBatches.Part p : plan) {
            out[p.index()] = plan.size() == 1 ? new Sent(p, hIn, lengths)
                    : new Sent(p, MicroBatches.rows(hIn, p), MicroBatches.lengths(lengths, p));
        }
        return out;
    }

    /**
     * A new step: what the previous one kept for resends is dropped, and so are the answers that came early unless
     * they belong to this step's parts sent ahead or to a later step sent ahead.
     */
    private void begin(long step, boolean forBackward, List<MicroBatches.Part> plan, boolean wentAhead) {
        currentStep = step;
        currentForBackward = forBackward;
        parts = new Sent[plan.size()];
        ahead.headMap(step, true).clear();
        early.keySet().removeIf(k -> k.step() < step || (k.step() == step && !wentAhead));
        lastSendFailure = null;
    }

    /** Waits for a part's h_out, sending its activation again (next attempt) when none comes in time. */
    private HostTensor awaitForward(int micro, boolean sent) {
        for (int tries = 0; tries < settings.maxAttempts(); tries++) {
            if (tries > 0) {
                parts[micro].attempt++;
                sent = sendActivation(micro);
            }
            Verdict.Accepted answer = sent ? await(EventKind.ACTIVATION_DOWN, micro) : null;
            if (answer != null) {
                return answer.tensor().orElseThrow();
            }
            retries.incrementAndGet();
        }
        throw failure("no backbone answer", micro);
    }

    /** A gradient goes out under the attempt after its activation's, as a retry of the part would. */
    private boolean sendFirstGradient(int micro, HostTensor gradOut) {
        parts[micro].attempt++;
        return sendGradient(micro, gradOut);
    }

    /**
     * Waits for a part's dL/dh_in. No answer in time: the gradient goes again. The server says it lost the part's
     * activation (eviction, restart, rebalance): the activation goes again first, then the gradient.
     */
    private HostTensor awaitGradient(int micro, HostTensor gradOut, boolean sent) {
        Sent part = parts[micro];
        for (int tries = 0; tries < settings.maxAttempts(); tries++) {
            if (tries > 0) {
                part.attempt++;
                sent = sendGradient(micro, gradOut);
            }
            Verdict.Accepted answer = sent ? await(EventKind.GRADIENT_DOWN, micro) : null;
            if (answer != null && answer.event().metadata().kind() == EventKind.GRADIENT_DOWN) {
                return answer.tensor().orElseThrow();
            }
            if (answer == null) {
                retries.incrementAndGet();
            } else {
                resendsServed.incrementAndGet();
                part.attempt++;
                Verdict.Accepted reforward = sendActivation(micro) ? await(EventKind.ACTIVATION_DOWN, micro) : null;
                if (reforward == null) {
                    retries.incrementAndGet();
                }
            }
        }
        throw failure("no gradient answer", micro);
    }

    private IllegalStateException failure(String what, int micro) {
        String message = what + " for session " + session + " step " + currentStep
                + (parts.length > 1 ? " micro-batch " + micro : "") + " after " + settings.maxAttempts()
                + " attempts of " + settings.timeout().toMillis() + " ms";
        return lastSendFailure == null ? new IllegalStateException(message)
                : new IllegalStateException(message + "; the last send failed: " + lastSendFailure.getMessage(),
                        lastSendFailure);
    }

    private boolean sendActivation(int micro) {
        return sendActivation(currentStep, currentForBackward, parts[micro]);
    }

    private boolean sendActivation(long step, boolean forBackward, Sent p) {
        TensorEvent e = writer.tensorEvent(EventKind.ACTIVATION_UP, step, p.part.index(), p.attempt,
                SplitProtocol.activationAttributes(p.lengths, forBackward, settings.bitsDown(), pass, noiseStd,
                        p.part.firstRow()),
                p.hIn, activationCodec);
        return trySend(writer.records(Topics.ACTIVATIONS_UP, e));
    }

    private boolean sendGradient(int micro, HostTensor gradOut) {
        TensorEvent e = writer.tensorEvent(EventKind.GRADIENT_UP, currentStep, micro, parts[micro].attempt,
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

    /** Counted after the sink has them: reading a record first would sign every chunk before the first goes out. */
    private void send(List<ProducerRecord<String, byte[]>> records) {
        sink.send(records);
        for (ProducerRecord<String, byte[]> r : records) {
            bytesUp.addAndGet(r.value().length);
            messagesUp.incrementAndGet();
        }
    }

    /**
     * Waits for the answer to {@code kind}'s request for a micro-batch of the current step; a CONTROL resend for it
     * also ends the wait (returned as is). Answers for the step's other parts are kept until their turn; anything
     * else is stale and dropped. Returns null on timeout.
     */
    private Verdict.Accepted await(EventKind kind, int micro) {
        Verdict.Accepted kept = early.remove(new AnswerKey(kind, currentStep, micro));
        if (kept == null && kind == EventKind.GRADIENT_DOWN) {
            kept = early.remove(new AnswerKey(EventKind.CONTROL, currentStep, micro));
        }
        if (kept != null) {
            return kept;
        }
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
                boolean current = m.step() == currentStep;
                Ahead later = current || m.kind() != EventKind.ACTIVATION_DOWN ? null : ahead.get(m.step());
                int partsOfStep = current ? parts.length : later != null ? later.parts().length : 0;
                if (m.microBatch() < 0 || m.microBatch() >= partsOfStep
                        || (m.kind() == EventKind.CONTROL && !resend)) {
                    answersDropped.incrementAndGet();
                } else if (current && m.microBatch() == micro
                        && (m.kind() == kind || (resend && kind == EventKind.GRADIENT_DOWN))) {
                    return a;
                } else if (early.putIfAbsent(new AnswerKey(m.kind(), m.step(), m.microBatch()), a) != null) {
                    answersDropped.incrementAndGet();
                }
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
