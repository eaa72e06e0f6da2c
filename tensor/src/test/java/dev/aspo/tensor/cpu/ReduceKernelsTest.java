package dev.aspo.tensor.cpu;

import static dev.aspo.tensor.cpu.ElementwiseKernelsTest.assertNear;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.Random;
import org.junit.jupiter.api.Test;

class ReduceKernelsTest {
    private final Random rng = new Random(23);

    private float[] uniform(int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = 4 * rng.nextFloat() - 2;
        return v;
    }

    /** [outer, dim, inner] combinations: long rows, many rows, column blocks with tails, a bias-gradient shape. */
    private static final int[][] SHAPES = {{1, 100_003, 1}, {37, 1001, 1}, {3, 257, 301}, {1, 672, 1024}, {5, 1, 7}, {4, 0, 3}};

    @Test
    void sumMatchesTheLoop() {
        for (int[] s : SHAPES) {
            int outer = s[0], dim = s[1], inner = s[2];
            float[] x = uniform(outer * dim * inner), y = uniform(outer * inner);   // y's old contents must not leak
            ReduceKernels.sum(x, y, outer, dim, inner);
            for (int o = 0; o < outer; o++)
                for (int i = 0; i < inner; i++) {
                    double e = 0, mag = 0;
                    for (int d = 0; d < dim; d++) {
                        e += x[(o * dim + d) * inner + i];
                        mag += Math.abs(x[(o * dim + d) * inner + i]);
                    }
                    if (!(Math.abs(y[o * inner + i] - e) <= 1e-6 * mag + 1e-6)) {
                        fail("sum " + java.util.Arrays.toString(s) + " at [" + o + ", " + i + "]: " + y[o * inner + i]
                                + ", expected " + e);
                    }
                }
        }
    }

    @Test
    void sumBackwardAccumulatesTheBroadcast() {
        for (int[] s : SHAPES) {
            int outer = s[0], dim = s[1], inner = s[2];
            float[] gy = uniform(outer * inner), gx0 = uniform(outer * dim * inner), gx = gx0.clone();
            ReduceKernels.sumBackward(gy, gx, outer, dim, inner);
            double[] e = new double[gx.length];
            for (int t = 0; t < gx.length; t++) e[t] = gx0[t] + gy[(t / (dim * inner)) * inner + t % inner];
            assertNear("sumBackward", e, gx, 1e-6, 1e-7);
        }
    }

    @Test
    void maxAndArgmax() {
        for (int[] s : new int[][] {{1, 100_003, 1}, {37, 1001, 1}, {3, 257, 301}, {5, 1, 7}}) {
            int outer = s[0], dim = s[1], inner = s[2];
            float[] x = uniform(outer * dim * inner), y = new float[outer * inner], idx = new float[outer * inner];
            ReduceKernels.max(x, y, idx, outer, dim, inner);
            for (int o = 0; o < outer; o++)
                for (int i = 0; i < inner; i++) {
                    float best = Float.NEGATIVE_INFINITY;
                    int arg = -1;
                    for (int d = 0; d < dim; d++) {
                        float v = x[(o * dim + d) * inner + i];
                        if (v > best) {
                            best = v;
                            arg = d;
                        }
                    }
                    assertEquals(best, y[o * inner + i]);
                    assertEquals(arg, idx[o * inner + i]);
                }
        }
    }

    @Test
    void maxTiesTakeTheFirstAndNaNWins() {
        float[] x = {1, 3, 3, 2, Float.NaN, 5, 7, 7, 7}, y = new float[3], idx = new float[3];
        ReduceKernels.max(x, y, idx, 3, 3, 1);
        assertEquals(3f, y[0]);
        assertEquals(1f, idx[0]);
        assertTrue(Float.isNaN(y[1]));
        assertEquals(1f, idx[1]);
        assertEquals(0f, idx[2]);
        ReduceKernels.max(x, y, null, 3, 3, 1);   // argmax not wanted
        assertEquals(7f, y[2]);
    }

    @Test
    void segmentSumOnManyTokens() {
        int n = 100_003, segments = 1000;
        float[] x = uniform(n), y = uniform(segments);
        int[] seg = new int[n];
        for (int t = 0; t < n; t++) seg[t] = rng.nextInt(10) == 0 ? -1 : rng.nextInt(segments - 1);   // the last one stays empty
        ReduceKernels.segmentSum(x, seg, y, n, segments);
        double[] e = new double[segments];
        for (int t = 0; t < n; t++) if (seg[t] >= 0) e[seg[t]] += x[t];
        assertNear("segmentSum", e, y, 1e-6, 1e-6);
        assertEquals(0f, y[segments - 1]);

        float[] gy = uniform(segments), gx0 = uniform(n), gx = gx0.clone();
        ReduceKernels.segmentSumBackward(gy, seg, gx, n);
        double[] ge = new double[n];
        for (int t = 0; t < n; t++) ge[t] = gx0[t] + (seg[t] >= 0 ? gy[seg[t]] : 0);
        assertNear("segmentSumBackward", ge, gx, 1e-6, 1e-7);
    }

    @Test
    void segmentIdsAreChecked() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> ReduceKernels.segmentSum(new float[3], new int[] {0, 2, -1}, new float[2], 3, 2));
        assertTrue(e.getMessage().contains("segment id 2 of token 1 is out of range [0, 2)"), e.getMessage());
        var e2 = assertThrows(IllegalArgumentException.class,
                () -> ReduceKernels.segmentSumBackward(new float[2], new int[] {0, -3}, new float[2], 2));
        assertTrue(e2.getMessage().contains("segment id -3 of token 1"), e2.getMessage());
        var e3 = assertThrows(IllegalArgumentException.class,
                () -> ReduceKernels.segmentSum(new float[3], new int[] {0}, new float[2], 3, 2));
        assertTrue(e3.getMessage().contains("1 segment ids for 3 tokens"), e3.getMessage());
        float[] y = {5, 5};
        ReduceKernels.segmentSum(new float[] {1, 2}, new int[] {-1, -1}, y, 2, 2);
        assertArrayEquals(new float[] {0, 0}, y);
    }
}
