package dev.aspo.method.train;

/** Told after every optimiser step of a run (for a caller's own progress display, e.g. the study's). */
@FunctionalInterface
public interface StepListener {
    void step(long step, long total);

    StepListener NONE = (step, total) -> {};
}
