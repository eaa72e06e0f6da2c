package dev.aspo.models.generate;

import it.unimi.dsi.fastutil.ints.IntArrays;
import java.util.Random;

/**
 * Picks the next token from a row of logits: greedy (argmax, the first index on ties, as
 * {@code torch.argmax}) or sampled after transformers' warpers in their order, temperature, then
 * top-k, then top-p:
 *
 * <pre>
 *   logits / temperature --keep the k largest--> softmax --keep the smallest prefix (by
 *   descending probability) whose mass reaches top_p, at least one token--> renormalise --> draw
 * </pre>
 *
 * A sampling {@code Sampler} owns its {@link Random} (seeded), so a generation is reproducible
 * from the seed; it is therefore not thread-safe: one per generation.
 */
public final class Sampler {
    private final boolean greedy;
    private final float temperature, topP;
    private final int topK;
    private final Random rng;

    private Sampler(boolean greedy, float temperature, int topK, float topP, Random rng) {
        this.greedy = greedy;
        this.temperature = temperature;
        this.topK = topK;
        this.topP = topP;
        this.rng = rng;
    }

    /** Argmax decoding ({@code do_sample=False}). */
    public static Sampler greedy() {
        return new Sampler(true, 1f, 0, 1f, null);
    }

    /**
     * Sampling with {@code temperature} (> 0), {@code topK} (0 = off) and {@code topP} (in (0, 1];
     * 1 = off), drawing from a {@link Random} seeded with {@code seed}.
     */
    public static Sampler sampling(float temperature, int topK, float topP, long seed) {
        if (!(temperature > 0) || Float.isInfinite(temperature)) {
            throw new IllegalArgumentException("sampler: temperature must be a finite positive number, got " + temperature
                    + " (use Sampler.greedy() for argmax decoding)");
        }
        if (topK < 0) throw new IllegalArgumentException("sampler: topK must be >= 0 (0 = off), got " + topK);
        if (!(topP > 0 && topP <= 1)) throw new IllegalArgumentException("sampler: topP must be in (0, 1], got " + topP);
        return new Sampler(false, temperature, topK, topP, new Random(seed));
    }

    public boolean isGreedy() {
        return greedy;
    }

    /** The chosen token id (an index into the row {@code logits[offset, offset + vocab)}). */
    public int next(float[] logits, int offset, int vocab) {
        checkRow(logits, offset, vocab);
        if (greedy) return argmax(logits, offset, vocab);
        double[] p = probabilities(logits, offset, vocab);
        double u = rng.nextDouble();
        int last = 0;
        for (int i = 0; i < vocab; i++) {
            if (p[i] == 0) continue;
            last = i;
            u -= p[i];
            if (u < 0) return i;
        }
        return last;                        // rounding left u at ~0: the last candidate
    }

    /**
     * The distribution a sampling step draws from ({@code [vocab]}, summing to 1, 0 for removed
     * tokens), as transformers' warpers make it:
     *
     * <pre>
     *   z = logits / temperature
     *   top-k: drop z below the k-th largest (ties with it stay, as TopKLogitsWarper)
     *   p = softmax(z over the kept)
     *   top-p: by descending p, keep a token while the mass before it is below top_p
     *          (TopPLogitsWarper's "ascending cumulative mass > 1 - top_p"); the largest always stays
     * </pre>
     */
    double[] probabilities(float[] logits, int offset, int vocab) {
        checkRow(logits, offset, vocab);
        int[] order = new int[vocab];
        for (int i = 0; i < vocab; i++) order[i] = i;
        // descending; merge sort is stable, so equal logits keep id order (no boxing of the vocabulary)
        IntArrays.mergeSort(order, (a, b) -> Float.compare(logits[offset + b], logits[offset + a]));
        int keep = vocab;
        if (topK > 0 && topK < vocab) {
            float kth = logits[offset + order[topK - 1]];
            keep = topK;
            while (keep < vocab && logits[offset + order[keep]] >= kth) keep++;
        }
        double max = logits[offset + order[0]] / (double) temperature, sum = 0;
        double[] e = new double[keep];
        for (int i = 0; i < keep; i++) {
            e[i] = Math.exp(logits[offset + order[i]] / (double) temperature - max);
            sum += e[i];
        }
        if (topP < 1) {
            double before = 0;
            int n = 0;
            while (n < keep && (n == 0 || before < topP)) before += e[n++] / sum;
            keep = n;
            sum = 0;
            for (int i = 0; i < keep; i++) sum += e[i];
        }
        double[] p = new double[vocab];
        for (int i = 0; i < keep; i++) p[order[i]] = e[i] / sum;
        return p;
    }

    private static void checkRow(float[] logits, int offset, int vocab) {
        if (vocab <= 0 || offset < 0 || offset + vocab > logits.length) {
            throw new IllegalArgumentException("sampler: row [" + offset + ", " + (offset + vocab) + ") outside logits of length "
                    + logits.length);
        }
    }

    static int argmax(float[] x, int offset, int n) {
        int best = 0;
        float bestValue = x[offset];
        for (int i = 1; i < n; i++) {
            float v = x[offset + i];
            if (v > bestValue || (Float.isNaN(v) && !Float.isNaN(bestValue))) {
                best = i;
                bestValue = v;
            }
        }
        return best;
    }

    @Override
    public String toString() {
        return greedy ? "greedy" : "sampling(temperature " + temperature + ", top_k " + topK + ", top_p " + topP + ")";
    }
}
