package dev.aspo.tensor;

import java.util.Random;

/**
 * A {@link Random} whose state can be read and put back, so that a {@link Checkpoint}ed layer
 * draws the same numbers when it is recomputed in the backward pass (dropout masks). It is
 * {@code java.util.Random} exactly: the same 48-bit linear congruential generator and seed
 * scrambling, so {@code new ReplayableRandom(s)} gives what {@code new Random(s)} gives, number
 * for number ({@code nextGaussian} included). Unlike {@code Random} it is for one thread at a time.
 */
public class ReplayableRandom extends Random {
    private static final long MULTIPLIER = 0x5DEECE66DL, ADDEND = 0xBL, MASK = (1L << 48) - 1;

    // No initialisers: Random's constructor calls setSeed before this class's fields would be initialised.
    private long seed;
    private double nextNextGaussian;
    private boolean haveNextNextGaussian;

    public ReplayableRandom(long seed) {
        super(seed);
    }

    /** Where the generator stands: the next numbers it gives are a function of this. */
    public record State(long seed, double nextNextGaussian, boolean haveNextNextGaussian) {}

    public State state() {
        return new State(seed, nextNextGaussian, haveNextNextGaussian);
    }

    /** Puts the generator back to {@code s} (from {@link #state()}). */
    public void restore(State s) {
        seed = s.seed();
        nextNextGaussian = s.nextNextGaussian();
        haveNextNextGaussian = s.haveNextNextGaussian();
    }

    @Override
    public void setSeed(long s) {
        seed = (s ^ MULTIPLIER) & MASK;
        haveNextNextGaussian = false;
    }

    @Override
    protected int next(int bits) {
        Checkpoint.drawing(this);
        seed = (seed * MULTIPLIER + ADDEND) & MASK;
        return (int) (seed >>> (48 - bits));
    }

    /** {@code Random.nextGaussian}'s polar method, with its spare value in this object's state. */
    @Override
    public double nextGaussian() {
        Checkpoint.drawing(this);   // the spare value is part of the state a replay must start from
        if (haveNextNextGaussian) {
            haveNextNextGaussian = false;
            return nextNextGaussian;
        }
        double v1, v2, s;
        do {
            v1 = 2 * nextDouble() - 1;
            v2 = 2 * nextDouble() - 1;
            s = v1 * v1 + v2 * v2;
        } while (s >= 1 || s == 0);
        double multiplier = StrictMath.sqrt(-2 * StrictMath.log(s) / s);
        nextNextGaussian = v2 * multiplier;
        haveNextNextGaussian = true;
        return v1 * multiplier;
    }
}
