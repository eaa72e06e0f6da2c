package dev.aspo.tensor.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/**
 * The blocked, packed {@link Gemm} against a plain double-precision triple loop, on shapes chosen
 * to hit every path: tiny, prime, straddling the micro-tile (MR, NR, one vector) and the cache
 * blocks (KC, MC), skinny rows or columns, batched with and without broadcast operands.
 */
class GemmTest {
    private static final int MR = Gemm.MR, NR = Gemm.NR, L = Gemm.L, KC = Gemm.KC, MC = Gemm.MC;

    /** Shapes at and around every blocking boundary (MR, NR, KC, MC, NC, the vector width L); HalfGemmTest runs them too. */
    static final int[][] AWKWARD_SHAPES = {
        {1, 1, 1}, {2, 3, 4}, {17, 31, 13}, {7, 5, 3},
        {MR, NR, KC}, {MR - 1, NR - 1, 5}, {MR + 1, NR + 1, 7}, {MR + 1, L + 1, KC + 1},
        {2 * MR + 1, 2 * NR + 3, 2 * KC + 1}, {MC + 1, 3 * NR - 1, 33}, {MC - 1, NR + L, KC - 1},
        {33, 2 * L, 19}, {40, 3 * L, 11}, {21, 3 * L + 5, 9}, {11, L - 1, 12},
        {130, 257, 129},
        // A's block packed (4 or more B panels), with a ragged last block of MC rows and of KC
        {MC + 1, 4 * NR + 3, KC + 5}, {2 * MR + 3, 5 * NR - 1, 2 * KC + 3},
        // more columns than one packed block of B (NC)
        {2 * MR + 3, Gemm.NC + L + 1, 17},
    };

    /** One or a few rows or columns: the dot-product and narrow-kernel paths. */
    static final int[][] SKINNY_SHAPES = {
        {1, 300, 70}, {3, 200, 45}, {MR, 77, 31}, {2 * MR, 130, 40}, {2 * MR + 1, 65, 17}, {6, 700, 100},
        {1, 600, 500}, {100, 1, 50}, {70, 3, 20}, {600, 2, 300}, {5, L - 1, 9}, {2, 2, 1000},
        {200, 5, 1}, {1, 1, 1000}, {600, 20, 30}, {300, 40, 50},
        {20, 70, 300}, {33, 50, 260}, {64, 40, 257}, {65, 40, 257}, {300, 3, 280},
    };

    private static final float GUARD = -12345.5f;

    private final Random rng = new Random(42);

    /** C[b] (+)= op(A[b]) op(B[b]) in double, and sum |a||b| (+ |C0|) per element for the error bound. */
    private static double[][] reference(float[] a, int aStride, boolean ta, float[] b, int bStride, boolean tb,
                                        float[] c0, int batch, int m, int n, int k, boolean accumulate) {
        double[] c = new double[batch * m * n], mag = new double[batch * m * n];
        for (int bi = 0; bi < batch; bi++)
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++) {
                    double s = 0, abs = 0;
                    for (int p = 0; p < k; p++) {
                        double av = ta ? a[bi * aStride + p * m + i] : a[bi * aStride + i * k + p];
                        double bv = tb ? b[bi * bStride + j * k + p] : b[bi * bStride + p * n + j];
                        s += av * bv;
                        abs += Math.abs(av * bv);
                    }
                    int x = bi * m * n + i * n + j;
                    if (accumulate) {
                        s += c0[x];
                        abs += Math.abs(c0[x]);
                    }
                    c[x] = s;
                    mag[x] = abs;
                }
        return new double[][] {c, mag};
    }

    private float[] random(int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) rng.nextGaussian();
        return x;
    }

    /**
     * Runs one product and compares every element. The bound is the float32 worst case for a sum
     * of k products in any order, (k + 2) u sum|a b| with u = 2^-24: far below what one wrong,
     * missing or doubled term would change. C carries guard values past its end, and is filled with
     * NaN when not accumulating, so a kernel that reads instead of overwriting fails.
     */
    private void check(int batch, int m, int n, int k, boolean ta, boolean tb, boolean shareA, boolean shareB,
                       boolean accumulate) {
        int aStride = shareA ? 0 : m * k, bStride = shareB ? 0 : k * n;
        float[] a = random((shareA ? 1 : batch) * m * k), b = random((shareB ? 1 : batch) * k * n);
        int size = batch * m * n;
        float[] c = new float[size + 2 * NR];
        float[] c0 = random(size);
        for (int i = 0; i < c.length; i++) c[i] = i < size ? (accumulate ? c0[i] : Float.NaN) : GUARD;

        Gemm.matmul(a, aStride, ta, b, bStride, tb, c, batch, m, n, k, accumulate);

        double[][] ref = reference(a, aStride, ta, b, bStride, tb, c0, batch, m, n, k, accumulate);
        String what = "batch=" + batch + " m=" + m + " n=" + n + " k=" + k + " transA=" + ta + " transB=" + tb
                + " shareA=" + shareA + " shareB=" + shareB + " accumulate=" + accumulate;
        double u = Math.ulp(1.0f) / 2;
        for (int x = 0; x < size; x++) {
            double tol = (k + 2) * u * ref[1][x] * 1.01 + 1e-30;
            if (!(Math.abs(c[x] - ref[0][x]) <= tol)) {
                int bi = x / (m * n), i = x % (m * n) / n, j = x % n;
                fail(what + ": C[" + bi + "," + i + "," + j + "] = " + c[x] + ", expected " + ref[0][x] + " (tol " + tol + ")");
            }
        }
        for (int x = size; x < c.length; x++) assertEquals(GUARD, c[x], what + ": wrote past the end of C at " + x);
    }

    private void allFlags(int batch, int m, int n, int k, boolean shareA, boolean shareB) {
        for (boolean ta : new boolean[] {false, true})
            for (boolean tb : new boolean[] {false, true})
                for (boolean acc : new boolean[] {false, true}) check(batch, m, n, k, ta, tb, shareA, shareB, acc);
    }

    @Test
    void singleMatricesOfAwkwardShapes() {
        for (int[] s : AWKWARD_SHAPES) allFlags(1, s[0], s[1], s[2], false, false);
    }

    @Test
    void skinnyRowsAndColumns() {
        for (int[] s : SKINNY_SHAPES) allFlags(1, s[0], s[1], s[2], false, false);
    }

    @Test
    void batchesWithAndWithoutBroadcastOperands() {
        for (boolean shareA : new boolean[] {false, true})
            for (boolean shareB : new boolean[] {false, true}) {
                allFlags(3, 17, 31, 13, shareA, shareB);      // small: split over the batch
                allFlags(5, 1, 40, 33, shareA, shareB);       // dot-product path per entry
                allFlags(4, 50, 2, 21, shareA, shareB);       // transposed-C path per entry
            }
        allFlags(64, 12, 12, 8, false, false);                // many tiny heads
        // entries big enough to be split over the cores one at a time
        check(2, 160, 170, 155, false, false, false, false, true);
        check(2, 160, 170, 155, true, true, false, true, false);
        check(2, 160, 170, 155, false, true, true, false, true);
    }

    @Test
    void emptyInnerDimensionGivesZeroOrLeavesC() {
        float[] c = {1, 2, 3, 4, 5, 6};
        Gemm.matmul(new float[0], 0, false, new float[0], 0, false, c, 1, 2, 3, 0, true);
        assertEquals(6f, c[5]);
        Gemm.matmul(new float[0], 0, false, new float[0], 0, false, c, 1, 2, 3, 0, false);
        for (float v : c) assertEquals(0f, v);
    }

    @Test
    void concurrentCallersKeepTheirOwnBuffers() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(3);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < 6; t++) {
                int m = 40 + 13 * t, n = 70 + 9 * t, k = 150 + 31 * t;
                done.add(pool.submit(() -> {
                    Random r = new Random(m);
                    float[] a = new float[m * k], b = new float[k * n], c = new float[m * n];
                    for (int i = 0; i < a.length; i++) a[i] = r.nextFloat() - 0.5f;
                    for (int i = 0; i < b.length; i++) b[i] = r.nextFloat() - 0.5f;
                    for (int rep = 0; rep < 3; rep++) {
                        Gemm.matmul(a, 0, false, b, 0, true, c, 1, m, n / 2, k, false);  // b seen as [n/2, k]
                        double[][] ref = reference(a, 0, false, b, 0, true, null, 1, m, n / 2, k, false);
                        for (int x = 0; x < m * (n / 2); x++) {
                            assertTrue(Math.abs(c[x] - ref[0][x]) <= (k + 2) * 6e-8 * ref[1][x] * 1.01,
                                    "concurrent m=" + m + " at " + x);
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) f.get();
        } finally {
            pool.shutdown();
        }
    }

    /**
     * The packed B must start on a cache line ({@link Gemm#BOFF}), which holds only where G1 puts
     * the buffer at a region's start: for an array of half a region or more. Whatever region size
     * the JVM runs with (the tests: jvm.options' 1 MB; the child JVMs of GemmAtEveryWidthTest: 4 MB,
     * what G1 picks by itself for a 6 GB heap, where the old fixed 512 KB failed this), the smallest
     * B buffer is that large.
     */
    @Test
    void packedBBuffersAreLargeEnoughForG1ToPlaceThemAtARegionStart() {
        var hotspot = java.lang.management.ManagementFactory.getPlatformMXBean(com.sun.management.HotSpotDiagnosticMXBean.class);
        long region = Long.parseLong(hotspot.getVMOption("G1HeapRegionSize").getValue());
        assertTrue(Boolean.parseBoolean(hotspot.getVMOption("UseG1GC").getValue()), "the tests run with G1 (jvm.options)");
        assertEquals(region, GemmShape.G1_REGION_BYTES, "region size read by GemmShape");
        assertTrue(16L + (long) Gemm.B_MIN * Float.BYTES >= region / 2,
                "B_MIN " + Gemm.B_MIN + " floats is less than half a " + region + "-byte region");
    }

    @Test
    void tooSmallBuffersAreNamed() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> Gemm.matmul(new float[5], 6, false, new float[6], 6, false, new float[8], 2, 2, 2, 3, false));
        assertTrue(e.getMessage().contains("a needs 12 has 5"), e.getMessage());
    }
}
