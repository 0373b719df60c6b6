package io.guardedtuning.privacy;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.guardedtuning.attack.WireDefence;
import io.guardedtuning.engine.DjlRuntime;
import io.guardedtuning.model.OptModel;
import io.guardedtuning.split.BackboneLink;
import io.guardedtuning.tensor.HostTensor;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The client's leakage budget. Every h_in is noised here (σ of the session) and, before it is handed to the link,
 * attacked by the client itself ({@link LeakageProbe}, the audit's threat model) and scored against the batch's own
 * tokens. A batch over budget is never sent: the guard raises σ for the rest of the session (doubling it from the
 * first rung) and checks again; past the largest σ the data owner allows, the session stops with the reason. Every
 * move and every check is kept for the report.
 */
public final class LeakageGuard {

    /**
     * @param budget   largest ROUGE-L F1 a batch may leak
     * @param firstStd σ of the first move when the session starts without noise
     * @param maxStd   the largest σ the guard may set (beyond it the batch cannot be made safe)
     */
    public record Budget(double budget, float firstStd, float maxStd) {
        public Budget {
            if (!(budget > 0 && budget <= 1) || !(firstStd > 0) || !(maxStd >= firstStd)) {
                throw new IllegalArgumentException("leakage budget must be in (0, 1], the first noise step > 0 and "
                        + "the largest noise >= it; got " + budget + ", " + firstStd + ", " + maxStd);
            }
        }
    }

    /**
     * One tightening: at (pass, step), the leakage at the old σ, the new σ and the leakage it gives (NaN when the
     * move was not re-measured), and what caused it: {@code check} (the client's own attack before sending) or
     * {@code audit:<attack>} (the auditor's reconstruction of a step already sent, as the client scored it).
     */
    public record Move(long pass, long step, float fromStd, float toStd, double leakageBefore, double leakageAfter,
                       String cause) {
        public static final String CHECK = "check";
    }

    /** What the guard did over a session. */
    public record Report(double budget, int batchesChecked, double maxLeakageSent, float finalStd, List<Move> moves,
                         String stopped) {
    }

    private final Budget budget;
    private final int activationBits;
    private final LeakageProbe probe;
    private final long secret;
    private float std;
    private long passes;
    private List<int[]> pending;
    private int checked;
    private double maxSent;
    private String stopped;
    private final List<Move> moves = new ArrayList<>();

    /**
     * @param activationBits bits of h_in on the wire (0 or 32 = full precision), applied by the link after the guard
     * @param initialStd     the session's σ at the start (0 = no noise)
     * @param secret         the client's seed for the noise, never sent
     */
    public LeakageGuard(Budget budget, int activationBits, float initialStd, LeakageProbe probe, long secret) {
        this.budget = budget;
        this.activationBits = activationBits >= 32 ? 0 : activationBits;
        this.std = initialStd;
        this.probe = probe;
        this.secret = secret;
    }

    /**
     * The auditor's score of a training step already sent: over budget, σ moves one rung up for the batches still
     * to come (the client's own check then measures at the new σ); past the largest σ allowed, the session stops
     * before its next batch. The auditor may know more than the client's check (more text, more steps, attacks the
     * check does not run), so its findings raise the floor the check starts from.
     */
    public synchronized void auditScored(long step, String attack, double rougeL) {
        if (stopped != null || !(rougeL > budget.budget())) {
            return;
        }
        float next = std == 0 ? budget.firstStd() : std * 2;
        if (next > budget.maxStd()) {
            stopped = String.format(Locale.ROOT, "leakage budget %.3f was exceeded: the auditor's %s rebuilt "
                    + "training step %d at ROUGE-L %.3f and the noise is already at the strongest allowed (σ = %s)",
                    budget.budget(), attack, step, rougeL, std);
            return;
        }
        moves.add(new Move(Math.max(0, passes - 1), step, std, next, rougeL, Double.NaN, "audit:" + attack));
        std = next;
    }

    /** The defence as it stands: what the attacker is told and trains through. */
    public synchronized WireDefence defence() {
        return new WireDefence(activationBits, std);
    }

    public synchronized float noiseStd() {
        return std;
    }

    public synchronized Report report() {
        return new Report(budget.budget(), checked, maxSent, std, List.copyOf(moves), stopped);
    }

    /** The guarded view of one pass's link: noise and the check on every forward, gradients through as they are. */
    public BackboneLink around(BackboneLink inner) {
        long pass;
        synchronized (this) {
            pass = passes++;
        }
        return new BackboneLink() {
            @Override
            public void beforeBatch(List<int[]> sequences) {
                expect(sequences);
                inner.beforeBatch(sequences);
            }

            @Override
            public HostTensor forward(long step, HostTensor hIn, long[] lengths, boolean forBackward) {
                Guarded sent = guard(pass, step, hIn, lengths);
                inner.noiseApplied(sent.std());
                return inner.forward(step, sent.hIn(), lengths, forBackward);
            }

            @Override
            public HostTensor backward(long step, HostTensor gradOut) {
                return inner.backward(step, gradOut);
            }

            /** The whole batch is checked before the inner link cuts it into micro-batches. */
            @Override
            public HostTensor exchange(long step, HostTensor hIn, long[] lengths, boolean forBackward, Top top) {
                Guarded sent = guard(pass, step, hIn, lengths);
                inner.noiseApplied(sent.std());
                return inner.exchange(step, sent.hIn(), lengths, forBackward, top);
            }
        };
    }

    private synchronized void expect(List<int[]> sequences) {
        pending = List.copyOf(sequences);
    }

    /** A batch's h_in as it may be sent, and the σ it went through (the one the wire must name). */
    record Guarded(HostTensor hIn, float std) {
    }

    /**
     * The noised h_in, once its leakage is within budget; otherwise tightens or throws. Nothing is sent here. The
     * check runs outside the lock: it takes seconds to minutes, and the auditor's findings
     * ({@link #auditScored}, called on the consumer thread) must never wait for it. A σ the auditor raises meanwhile
     * applies from the next batch.
     */
    Guarded guard(long pass, long step, HostTensor hIn, long[] lengths) {
        List<int[]> tokens;
        float sigma;
        synchronized (this) {
            if (stopped != null) {
                throw new LeakageBudgetExceededException(stopped);
            }
            if (pending == null || pending.size() != lengths.length) {
                throw new IllegalStateException("the leakage guard needs the batch's own tokens before its h_in is "
                        + "sent (BackboneLink.beforeBatch)");
            }
            tokens = pending;
            pending = null;
            sigma = std;
        }
        long seed = ActivationNoise.seedFor(secret, pass, step);
        HostTensor noised = new ActivationNoise(sigma).apply(hIn, seed);
        double leakage = measure(noised, lengths, tokens, sigma);
        while (leakage > budget.budget()) {
            float next = sigma == 0 ? budget.firstStd() : sigma * 2;
            if (next > budget.maxStd()) {
                String reason = String.format(Locale.ROOT, "leakage budget %.3f cannot be met: pass %d step %d "
                        + "leaks ROUGE-L %.3f at the strongest noise allowed (σ = %s, %s); the batch was not sent",
                        budget.budget(), pass, step, leakage, sigma, activationBits == 0 ? "fp32" : activationBits
                                + "-bit");
                synchronized (this) {
                    stopped = reason;
                }
                throw new LeakageBudgetExceededException(reason);
            }
            HostTensor tighter = new ActivationNoise(next).apply(hIn, seed);
            double after = measure(tighter, lengths, tokens, next);
            synchronized (this) {
                moves.add(new Move(pass, step, sigma, next, leakage, after, Move.CHECK));
                std = Math.max(std, next);
            }
            sigma = next;
            noised = tighter;
            leakage = after;
        }
        synchronized (this) {
            checked++;
            maxSent = Math.max(maxSent, leakage);
        }
        return new Guarded(noised, sigma);
    }

    private double measure(HostTensor noised, long[] lengths, List<int[]> tokens, float sigma) {
        HostTensor wire = activationBits == 0 ? noised : quantised(noised);
        return probe.leakage(wire, lengths, tokens, new WireDefence(activationBits, sigma));
    }

    private HostTensor quantised(HostTensor h) {
        return DjlRuntime.withoutGradients(() -> {
            try (NDManager scope = DjlRuntime.newManager()) {
                return OptModel.hostCopy(new ActivationQuantizer(activationBits).quantize(
                        scope.create(h.data(), new Shape(h.shape()))));
            }
        });
    }
}
