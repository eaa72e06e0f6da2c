package dev.aspo.method.train;

import java.util.Arrays;
import java.util.Random;

/**
 * The data order of a run: a position in the endless sequence of epochs, each a seeded permutation
 * of the records. A function of {@code (seed, epoch, position)}, which a checkpoint saves, so a
 * resumed run takes the records an uninterrupted one would.
 */
final class EpochCursor {
    final int n;
    final long seed;
    int epoch, position;
    private int[] order;
    private int orderEpoch = -1;

    EpochCursor(int n, long seed) {
        this.n = n;
        this.seed = seed;
    }

    /** The permutation of epoch {@code e}: Fisher-Yates with {@code Random(seed * 1000003 + e)}. */
    static int[] permutation(int n, long seed, int e) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        Random rng = new Random(seed * 1_000_003L + e);
        for (int i = n - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1), tmp = p[i];
            p[i] = p[j];
            p[j] = tmp;
        }
        return p;
    }

    /** The next up to {@code bs} records (a micro-batch ends at the end of an epoch). */
    int[] next(int bs) {
        if (position >= n) {
            epoch++;
            position = 0;
        }
        if (orderEpoch != epoch) {
            order = permutation(n, seed, epoch);
            orderEpoch = epoch;
        }
        int k = Math.min(bs, n - position);
        int[] out = Arrays.copyOfRange(order, position, position + k);
        position += k;
        return out;
    }

    /** Epochs done, with the fraction of the current one (the metrics' {@code epoch}). */
    double epochs() {
        return epoch + (double) position / n;
    }
}
