package dev.aspo.method.train;

/** Training stopped on a non-finite value; the message names the step and the record(s). */
public final class TrainingStopped extends RuntimeException {
    public final long step;

    public TrainingStopped(long step, String message) {
        super(message);
        this.step = step;
    }
}
