package io.guardedtuning.privacy;

/** A batch would leak more than the data owner's budget at the strongest defence allowed: the session stops. */
public final class LeakageBudgetExceededException extends IllegalStateException {

    public LeakageBudgetExceededException(String reason) {
        super(reason);
    }
}
