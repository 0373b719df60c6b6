package io.guardedtuning.train;

/** Linear warm-up, then cosine decay to a floor; constant when {@code totalSteps} is 0. */
public record LearningRateSchedule(float peak, int warmupSteps, int totalSteps, float floorFraction) {

    public static LearningRateSchedule constant(float lr) {
        return new LearningRateSchedule(lr, 0, 0, 1f);
    }

    public float at(long step) {
        if (warmupSteps > 0 && step < warmupSteps) {
            return peak * (step + 1) / warmupSteps;
        }
        if (totalSteps <= warmupSteps) {
            return peak;
        }
        double progress = Math.min(1.0, (double) (step - warmupSteps) / (totalSteps - warmupSteps));
        double cosine = 0.5 * (1 + Math.cos(Math.PI * progress));
        return (float) (peak * (floorFraction + (1 - floorFraction) * cosine));
    }
}
