package dev.aspo.models.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

class SamplerTest {
    @Test
    void greedyIsArgmaxWithTheFirstIndexOnTies() {
        float[] row = {0.5f, 2f, -1f, 2f, 1.9f};
        assertEquals(1, Sampler.greedy().next(row, 0, 5));
        assertEquals(2, Sampler.greedy().next(new float[] {9, 9, 0, 1, 3}, 2, 3), "a token id within the row at the offset");
    }

    @Test
    void distributionMatchesTransformersWarpersOnRandomLogits() {
        Random rng = new Random(5);
        float[] temps = {0.3f, 1f, 1.7f};
        int[] ks = {0, 1, 3, 10};
        float[] ps = {1f, 0.9f, 0.5f, 0.05f};
        for (int trial = 0; trial < 40; trial++) {
            int vocab = 1 + rng.nextInt(23);
            float[] logits = new float[vocab + 3];
            for (int i = 0; i < logits.length; i++) logits[i] = (float) (rng.nextGaussian() * 2);
            if (vocab > 3) logits[2] = logits[3];        // a tie
            for (float t : temps) {
                for (int k : ks) {
                    for (float p : ps) {
                        double[] ours = Sampler.sampling(t, k, p, 0).probabilities(logits, 3, vocab);
                        double[] ref = reference(Arrays.copyOfRange(logits, 3, 3 + vocab), t, k, p);
                        for (int i = 0; i < vocab; i++) {
                            assertEquals(ref[i], ours[i], 1e-12, "T " + t + " k " + k + " p " + p + " token " + i);
                        }
                    }
                }
            }
        }
    }

    /**
     * transformers' TemperatureLogitsWarper, TopKLogitsWarper and TopPLogitsWarper as written
     * there (ascending sort, cumulative mass, remove where it is <= 1 - top_p, keep the top one).
     */
    static double[] reference(float[] logits, float temperature, int topK, float topP) {
        int v = logits.length;
        double[] z = new double[v];
        for (int i = 0; i < v; i++) z[i] = logits[i] / (double) temperature;
        if (topK > 0 && topK < v) {
            double[] sorted = z.clone();
            Arrays.sort(sorted);
            double kth = sorted[v - topK];
            for (int i = 0; i < v; i++) if (z[i] < kth) z[i] = Double.NEGATIVE_INFINITY;
        }
        double[] p = softmax(z);
        if (topP < 1) {
            Integer[] asc = new Integer[v];
            for (int i = 0; i < v; i++) asc[i] = i;
            Arrays.sort(asc, (a, b) -> Double.compare(p[a], p[b]));
            double cum = 0;
            for (int j = 0; j < v; j++) {
                cum += p[asc[j]];
                if (cum <= 1 - topP && j < v - 1) z[asc[j]] = Double.NEGATIVE_INFINITY;
            }
            return softmax(z);
        }
        return p;
    }

    static double[] softmax(double[] z) {
        double max = Double.NEGATIVE_INFINITY, sum = 0;
        for (double x : z) max = Math.max(max, x);
        double[] p = new double[z.length];
        for (int i = 0; i < z.length; i++) sum += p[i] = Math.exp(z[i] - max);
        for (int i = 0; i < z.length; i++) p[i] /= sum;
        return p;
    }

    @Test
    void drawsFollowTheDistributionAndRepeatWithTheSeed() {
        float[] logits = {1f, 0f, 2f, -1f, 0.5f};
        Sampler s = Sampler.sampling(0.8f, 4, 0.95f, 42);
        double[] p = s.probabilities(logits, 0, 5);
        int n = 40000;
        int[] counts = new int[5];
        int[] first = new int[50];
        for (int i = 0; i < n; i++) {
            int tok = s.next(logits, 0, 5);
            counts[tok]++;
            if (i < first.length) first[i] = tok;
        }
        for (int i = 0; i < 5; i++) {
            double sd = Math.sqrt(n * p[i] * (1 - p[i]));
            assertTrue(Math.abs(counts[i] - n * p[i]) <= 5 * sd + 1, "token " + i + ": " + counts[i] + " draws, expected " + n * p[i]);
        }
        assertEquals(0, counts[3], "top-k 4 removes the smallest logit");
        Sampler again = Sampler.sampling(0.8f, 4, 0.95f, 42);
        int[] repeat = new int[first.length];
        for (int i = 0; i < repeat.length; i++) repeat[i] = again.next(logits, 0, 5);
        assertArrayEquals(first, repeat);
    }

    @Test
    void badSettingsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> Sampler.sampling(0f, 0, 1f, 1));
        assertThrows(IllegalArgumentException.class, () -> Sampler.sampling(1f, -1, 1f, 1));
        assertThrows(IllegalArgumentException.class, () -> Sampler.sampling(1f, 0, 0f, 1));
        assertThrows(IllegalArgumentException.class, () -> Sampler.sampling(1f, 0, 1.5f, 1));
        assertThrows(IllegalArgumentException.class, () -> Sampler.greedy().next(new float[3], 1, 3));
    }
}
