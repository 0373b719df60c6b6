package io.guardedtuning.audit.service;

import java.util.ArrayDeque;
import java.util.Collection;
import java.util.Deque;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Which steps get audited: every Nth step (step 0 included) of the configured passes of each session (training
 * only by default; evaluation passes, when configured, become their own series), sessions can be switched off,
 * and a global rate limit (audits started in any sliding minute) keeps the attacks' CPU bounded however many
 * sessions run.
 */
public final class SamplingPolicy {

    public enum Decision { SAMPLED, OFF_STEP, SESSION_DISABLED, RATE_LIMITED }

    private static final long MINUTE_MILLIS = 60_000;

    private final int every;
    private final int maxPerMinute;
    private final Set<String> passes;
    private final Set<String> disabled = ConcurrentHashMap.newKeySet();
    private final Deque<Long> recentStarts = new ArrayDeque<>();

    public SamplingPolicy(int every, int maxPerMinute, Collection<String> passes,
                          Collection<String> initiallyDisabled) {
        if (every < 1 || maxPerMinute < 1) {
            throw new IllegalArgumentException("sampling needs every >= 1 and max-per-minute >= 1, got " + every
                    + " and " + maxPerMinute);
        }
        if (passes.isEmpty()) {
            throw new IllegalArgumentException("sampling needs at least one pass to audit, e.g. train");
        }
        this.every = every;
        this.maxPerMinute = maxPerMinute;
        this.passes = Set.copyOf(passes);
        disabled.addAll(initiallyDisabled);
    }

    /** Whether the step would be audited if the rate limit allows; consumes nothing (used for early gradients). */
    public boolean wants(String session, String pass, long step) {
        return step % every == 0 && passes.contains(pass) && !disabled.contains(session);
    }

    /** Decides for a step seen for the first time; a sampled step uses up one slot of the rate limit. */
    public synchronized Decision decide(String session, String pass, long step, long nowMillis) {
        if (disabled.contains(session)) {
            return Decision.SESSION_DISABLED;
        }
        if (step % every != 0 || !passes.contains(pass)) {
            return Decision.OFF_STEP;
        }
        while (!recentStarts.isEmpty() && recentStarts.peekFirst() <= nowMillis - MINUTE_MILLIS) {
            recentStarts.pollFirst();
        }
        if (recentStarts.size() >= maxPerMinute) {
            return Decision.RATE_LIMITED;
        }
        recentStarts.addLast(nowMillis);
        return Decision.SAMPLED;
    }

    public void setEnabled(String session, boolean enabled) {
        if (enabled) {
            disabled.remove(session);
        } else {
            disabled.add(session);
        }
    }

    public boolean isEnabled(String session) {
        return !disabled.contains(session);
    }
}
