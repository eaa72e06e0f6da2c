package dev.aspo.tensor.optim;

/**
 * A learning rate as a pure function of the optimiser step (counted from 0, the first update):
 * no state, so a resumed run only needs the step number.
 */
@FunctionalInterface
public interface LrSchedule {

    /** The learning rate for update number {@code step} (0-based). */
    double lr(long step);

    /** The same rate at every step. */
    static LrSchedule constant(double lr) {
        checkLr(lr);
        return step -> {
            checkStep(step);
            return lr;
        };
    }

    /** {@link #cosineWithWarmup(double, long, long, double)} decaying to 0. */
    static LrSchedule cosineWithWarmup(double peakLr, long warmupSteps, long totalSteps) {
        return cosineWithWarmup(peakLr, warmupSteps, totalSteps, 0);
    }

    /**
     * Linear warm-up from 0, then half a cosine down to {@code minRatio * peakLr}, as Hugging Face's
     * {@code get_cosine_with_min_lr_schedule_with_warmup} (with {@code minRatio = 0} exactly
     * {@code get_cosine_schedule_with_warmup}):
     * <pre>
     *   step &lt; warmup:  peak * step / warmup
     *   otherwise:      peak * (min + (1 - min) * 0.5 * (1 + cos(pi * progress))),
     *                   progress = (step - warmup) / max(1, total - warmup)
     * </pre>
     * Past {@code totalSteps} the rate stays at the minimum (progress is clamped to 1; Hugging
     * Face's would climb back up the cosine).
     */
    static LrSchedule cosineWithWarmup(double peakLr, long warmupSteps, long totalSteps, double minRatio) {
        checkLr(peakLr);
        if (warmupSteps < 0 || totalSteps < warmupSteps) {
            throw new IllegalArgumentException("cosine schedule: need 0 <= warmup <= total steps, got warmup "
                    + warmupSteps + " and total " + totalSteps);
        }
        if (!(minRatio >= 0 && minRatio <= 1)) {
            throw new IllegalArgumentException("cosine schedule: min ratio must be in [0, 1], got " + minRatio);
        }
        return step -> {
            checkStep(step);
            if (step < warmupSteps) return peakLr * ((double) step / Math.max(1, warmupSteps));
            double progress = Math.min(1.0, (double) (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps));
            double cosine = 0.5 * (1.0 + Math.cos(Math.PI * progress));
            return peakLr * Math.max(0.0, cosine * (1 - minRatio) + minRatio);
        };
    }

    private static void checkLr(double lr) {
        if (!(lr >= 0) || !Double.isFinite(lr)) throw new IllegalArgumentException("learning rate must be >= 0, got " + lr);
    }

    private static void checkStep(long step) {
        if (step < 0) throw new IllegalArgumentException("learning-rate schedule: step must be >= 0, got " + step);
    }
}
