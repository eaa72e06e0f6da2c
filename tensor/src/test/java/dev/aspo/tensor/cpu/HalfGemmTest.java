package dev.aspo.tensor.cpu;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.aspo.tensor.Precision;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * {@link Gemm} with a 16-bit operand (a frozen weight in bfloat16 or float16, widened while it is
 * packed) gives, bit for bit, what the float32 GEMM gives on the widened values: same paths, same
 * blocks, same summation order. Checked with the weight as B (x W, x W^T), as A (the transposed-C
 * path turns B into A; dW-shaped products), and both, on the shapes of {@link GemmTest} (every
 * micro-tile edge, cache block, skinny and dot-product path, batch split), all four transpose
 * flags, with and without accumulation. {@link GemmAtEveryWidthTest} runs these at every vector
 * width and tile shape.
 */
class HalfGemmTest {
    private static final int MR = Gemm.MR, NR = Gemm.NR, L = Gemm.L, KC = Gemm.KC, MC = Gemm.MC;
    private static final float GUARD = -12345.5f;

    private final Random rng = new Random(11);

    private float[] random(int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) rng.nextGaussian();
        return x;
    }

    private static float[] widened(HalfStorage h) {
        float[] out = new float[h.size()];
        h.widen(0, out, 0, out.length);
        return out;
    }

    /** One product both ways; every element of C (and the guard past its end) must have the same bits. */
    private void check(Precision p, boolean halfA, boolean halfB, int batch, int m, int n, int k, boolean ta, boolean tb,
                       boolean shareA, boolean shareB, boolean accumulate) {
        int aStride = shareA ? 0 : m * k, bStride = shareB ? 0 : k * n;
        float[] a = random((shareA ? 1 : batch) * m * k), b = random((shareB ? 1 : batch) * k * n);
        HalfStorage ha = halfA ? HalfStorage.round(a, p, "A") : null, hb = halfB ? HalfStorage.round(b, p, "B") : null;
        if (halfA) a = widened(ha);
        if (halfB) b = widened(hb);
        int size = batch * m * n;
        float[] c0 = random(size), want = new float[size + 2 * NR], got = new float[size + 2 * NR];
        for (int i = 0; i < want.length; i++) want[i] = i < size ? (accumulate ? c0[i] : Float.NaN) : GUARD;
        System.arraycopy(want, 0, got, 0, want.length);

        Gemm.matmul(a, aStride, ta, b, bStride, tb, want, batch, m, n, k, accumulate);
        Gemm.matmul(halfA ? null : a, ha, aStride, ta, halfB ? null : b, hb, bStride, tb, got, batch, m, n, k, accumulate);

        for (int x = 0; x < want.length; x++) {
            if (Float.floatToRawIntBits(got[x]) != Float.floatToRawIntBits(want[x])) {
                fail(p.torchName() + (halfA ? " A" : "") + (halfB ? " B" : "") + " batch=" + batch + " m=" + m + " n=" + n
                        + " k=" + k + " transA=" + ta + " transB=" + tb + " shareA=" + shareA + " shareB=" + shareB
                        + " accumulate=" + accumulate + ": C[" + x + "] = " + got[x] + ", the float32 product of the widened"
                        + " values gives " + want[x]);
            }
        }
    }

    /** Every flag, each operand in 16 bits and both, bfloat16 and float16. */
    private void allWays(int batch, int m, int n, int k, boolean shareA, boolean shareB) {
        for (Precision p : new Precision[] {Precision.BFLOAT16, Precision.FLOAT16})
            for (int half = 1; half <= 3; half++)
                for (boolean ta : new boolean[] {false, true})
                    for (boolean tb : new boolean[] {false, true})
                        for (boolean acc : new boolean[] {false, true}) {
                            check(p, (half & 1) != 0, (half & 2) != 0, batch, m, n, k, ta, tb, shareA, shareB, acc);
                        }
    }

    @Test
    void singleMatricesOfAwkwardShapes() {
        for (int[] s : GemmTest.AWKWARD_SHAPES) allWays(1, s[0], s[1], s[2], false, false);
    }

    @Test
    void skinnyRowsAndColumns() {
        for (int[] s : GemmTest.SKINNY_SHAPES) allWays(1, s[0], s[1], s[2], false, false);
    }

    @Test
    void batchesWithAndWithoutBroadcastOperands() {
        for (boolean shareA : new boolean[] {false, true})
            for (boolean shareB : new boolean[] {false, true}) {
                allWays(3, 17, 31, 13, shareA, shareB);
                allWays(5, 1, 40, 33, shareA, shareB);
                allWays(4, 50, 2, 21, shareA, shareB);
            }
        for (Precision p : new Precision[] {Precision.BFLOAT16, Precision.FLOAT16}) {
            check(p, false, true, 2, 160, 170, 155, false, false, false, true, true);   // split over the cores
            check(p, false, true, 2, 160, 170, 155, true, true, false, true, false);
            check(p, true, false, 2, 160, 170, 155, false, true, true, false, true);
        }
    }

    @Test
    void aSizeMismatchNamesTheHalfOperand() {
        HalfStorage w = HalfStorage.round(new float[3], Precision.BFLOAT16, "w");
        var e = assertThrows(IllegalArgumentException.class,
                () -> Gemm.matmul(new float[4], null, 0, false, null, w, 0, false, new float[4], 1, 2, 2, 2, false));
        assertTrue(e.getMessage().contains("b needs 4 has 3"), e.getMessage());
    }

    /** Row gathers (embeddings) from a 16-bit table give the widened rows exactly. */
    @Test
    void gatherRowsWidensTheRowsItCopies() {
        float[] table = random(7 * 5);
        for (Precision p : new Precision[] {Precision.BFLOAT16, Precision.FLOAT16}) {
            HalfStorage h = HalfStorage.round(table, p, "embed");
            float[] wide = widened(h), got = new float[4 * 5];
            int[] index = {3, 0, 6, 3};
            IndexKernels.gatherRows(h, index, got, 5);
            for (int i = 0; i < index.length; i++) {
                float[] want = Arrays.copyOfRange(wide, index[i] * 5, index[i] * 5 + 5);
                float[] row = Arrays.copyOfRange(got, i * 5, i * 5 + 5);
                assertTrue(Arrays.equals(want, row), p + " row " + i);
            }
        }
    }
}
