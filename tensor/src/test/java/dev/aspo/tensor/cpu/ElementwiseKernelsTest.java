package dev.aspo.tensor.cpu;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.aspo.tensor.BinaryOp;
import dev.aspo.tensor.ScalarMath;
import dev.aspo.tensor.UnaryOp;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The vector loops, their scalar tails and the parallel splits, on sizes that are not multiples
 * of the vector width or of the task size, against the double-precision definitions.
 */
class ElementwiseKernelsTest {
    private static final int N = 100_003;
    private final Random rng = new Random(21);

    /** Fails unless {@code |actual - expected| <= rtol |expected| + atol} everywhere. */
    static void assertNear(String what, double[] expected, float[] actual, double rtol, double atol) {
        for (int i = 0; i < expected.length; i++) {
            double e = expected[i], a = actual[i];
            if (!(Math.abs(a - e) <= rtol * Math.abs(e) + atol) && !(a == e)) {
                fail(what + ": element " + i + " is " + a + ", expected " + e);
            }
        }
    }

    private float[] gaussian(int n, double std) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (rng.nextGaussian() * std);
        return v;
    }

    private float[] uniform(int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = 4 * rng.nextFloat() - 2;
        return v;
    }

    // ---- unary -----------------------------------------------------------------------------

    private static void checkUnary(UnaryOp op, float[] x, float[] gy, float[] gx0, String what) {
        int n = x.length;
        float[] y = new float[n], gx = gx0.clone();
        ElementwiseKernels.unary(op, x, y, n);
        ElementwiseKernels.unaryBackward(op, x, y, gy, gx, n);
        double[] ye = new double[n], ge = new double[n];
        for (int i = 0; i < n; i++) {
            ye[i] = ScalarMath.f(op, x[i]);
            ge[i] = gx0[i] + gy[i] * ScalarMath.df(op, x[i]);
        }
        assertNear(op + " forward " + what, ye, y, 2e-6, 1e-6);
        assertNear(op + " backward " + what, ge, gx, 1e-5, 1e-5);
    }

    @Test
    void unaryOnALargeOddSize() {
        for (UnaryOp op : UnaryOp.values()) {
            checkUnary(op, ScalarMath.domain(op, rng, N, 3f), gaussian(N, 1), gaussian(N, 1), "n=" + N);
        }
    }

    /** Saturating and overflowing inputs, through the vector loop (3 vectors) and the tail. */
    @Test
    void unaryAtExtremes() {
        float[] reals = {-80, -30, -20.5f, -5, -1e-3f, 0, 1e-3f, 5, 20.5f, 30, 80};
        float[] positive = {1e-12f, 1e-5f, 0.5f, 1, 1e5f, 1e30f};   // rsqrt'(1e-30) overflows float
        for (UnaryOp op : UnaryOp.values()) {
            boolean pos = op == UnaryOp.LOG || op == UnaryOp.SQRT || op == UnaryOp.RSQRT;
            float[] pool = pos ? positive : reals;
            int n = 3 * VectorMath.L + 5;
            float[] x = new float[n];
            for (int i = 0; i < n; i++) x[i] = pool[i % pool.length];
            checkUnary(op, x, gaussian(n, 1), gaussian(n, 1), "at extremes " + Arrays.toString(pool));
        }
    }

    /**
     * An element's result does not depend on where the vector loop ends and the tail starts: every
     * prefix of an array gives the same bits as the whole array, forward and backward (the tail
     * runs the vector code on a padded copy, see ElementwiseKernels.unary).
     */
    @Test
    void unaryResultsDoNotDependOnTheLength() {
        int n = 3 * VectorMath.L + 5;
        for (UnaryOp op : UnaryOp.values()) {
            float[] x = ScalarMath.domain(op, rng, n, 3f), gy = gaussian(n, 1), gx0 = gaussian(n, 1);
            float[] y = new float[n], gx = gx0.clone();
            ElementwiseKernels.unary(op, x, y, n);
            ElementwiseKernels.unaryBackward(op, x, y, gy, gx, n);
            for (int m = 1; m < n; m++) {
                float[] ym = new float[m], gxm = Arrays.copyOf(gx0, m);
                ElementwiseKernels.unary(op, Arrays.copyOf(x, m), ym, m);
                ElementwiseKernels.unaryBackward(op, Arrays.copyOf(x, m), Arrays.copyOf(y, m), Arrays.copyOf(gy, m), gxm, m);
                for (int i = 0; i < m; i++) {
                    if (Float.floatToIntBits(ym[i]) != Float.floatToIntBits(y[i])
                            || Float.floatToIntBits(gxm[i]) != Float.floatToIntBits(gx[i])) {
                        fail(op + ": element " + i + " of " + m + " gives " + ym[i] + " / " + gxm[i]
                                + ", of " + n + " gives " + y[i] + " / " + gx[i]);
                    }
                }
            }
        }
    }

    /** The scalar definitions alone (the double-precision reference of each op). */
    @Test
    void scalarDefinitions() {
        for (UnaryOp op : UnaryOp.values()) {
            float[] x = ScalarMath.domain(op, rng, 2001, 4f);
            double[] ye = new double[x.length], de = new double[x.length];
            float[] y = new float[x.length], d = new float[x.length];
            for (int i = 0; i < x.length; i++) {
                ye[i] = ScalarMath.f(op, x[i]);
                de[i] = ScalarMath.df(op, x[i]);
                y[i] = ElementwiseKernels.apply(op, x[i]);
                d[i] = (float) ElementwiseKernels.derivative(op, x[i], y[i]);
            }
            assertNear(op + " scalar", ye, y, 1e-6, 1e-7);
            assertNear(op + " scalar derivative", de, d, 1e-5, 1e-6);
        }
    }

    @Test
    void affine() {
        float[] x = gaussian(N, 2), y = new float[N];
        ElementwiseKernels.affine(x, y, N, -1.25f, 0.5f);
        double[] e = new double[N];
        for (int i = 0; i < N; i++) e[i] = -1.25 * x[i] + 0.5;
        assertNear("affine", e, y, 1e-6, 1e-7);
    }

    // ---- binary ----------------------------------------------------------------------------

    /** Strides of a contiguous {@code shape} right-aligned over {@code out}, 0 on broadcast axes. */
    private static int[] stridesOver(int[] shape, int[] out) {
        int[] s = new int[out.length], own = ScalarMath.strides(shape);
        for (int k = 0; k < shape.length; k++) {
            int d = out.length - shape.length + k;
            s[d] = shape[k] == 1 ? 0 : own[k];
        }
        return s;
    }

    /** The contract read literally: one multi-index at a time, offsets from the strides. */
    private static int offset(int i, int[] out, int[] strides) {
        int off = 0;
        for (int d = out.length - 1; d >= 0; d--) {
            off += (i % out[d]) * strides[d];
            i /= out[d];
        }
        return off;
    }

    private float[] operand(BinaryOp op, int side, int n) {
        float[] v = uniform(n);
        if (op == BinaryOp.DIV && side == 1) {
            for (int i = 0; i < n; i++) v[i] = (float) Math.copySign(0.5 + Math.abs(v[i]), v[i]);
        }
        return v;
    }

    private void checkBinary(BinaryOp op, int[] as, int[] bs, int[] out) {
        String what = op + " " + Arrays.toString(as) + " " + Arrays.toString(bs);
        int[] sa = stridesOver(as, out), sb = stridesOver(bs, out);
        int total = Math.toIntExact(dev.aspo.tensor.Tensor.numel(out));
        int na = Math.toIntExact(dev.aspo.tensor.Tensor.numel(as)), nb = Math.toIntExact(dev.aspo.tensor.Tensor.numel(bs));
        float[] a = operand(op, 0, na), b = operand(op, 1, nb), o = new float[total];
        ElementwiseKernels.binary(op, a, sa, b, sb, o, out);
        int[] ia = new int[total], ib = new int[total];
        for (int i = 0; i < total; i++) {
            ia[i] = offset(i, out, sa);
            ib[i] = offset(i, out, sb);
        }
        double[] e = new double[total];
        for (int i = 0; i < total; i++) e[i] = ScalarMath.f(op, a[ia[i]], b[ib[i]]);
        assertNear(what + " forward", e, o, 1e-6, 1e-7);

        float[] gout = uniform(total);
        for (int side = 0; side < 2; side++) {
            float[] g0 = uniform(side == 0 ? na : nb), g = g0.clone();
            ElementwiseKernels.binaryBackward(op, side, a, sa, b, sb, gout, out, g);
            double[] ge = new double[g0.length], mag = new double[g0.length];
            for (int i = 0; i < g0.length; i++) {
                ge[i] = g0[i];
                mag[i] = Math.abs(g0[i]);
            }
            int[] is = side == 0 ? ia : ib;
            for (int i = 0; i < total; i++) {
                double t = gout[i] * ScalarMath.df(op, side, a[ia[i]], b[ib[i]]);
                ge[is[i]] += t;
                mag[is[i]] += Math.abs(t);
            }
            // float sums of many terms: allow rounding relative to the sum of magnitudes
            for (int i = 0; i < g.length; i++) {
                if (!(Math.abs(g[i] - ge[i]) <= 2e-6 * mag[i] + 1e-6)) {
                    fail(what + " gradient of side " + side + ": element " + i + " is " + g[i] + ", expected " + ge[i]);
                }
            }
        }
    }

    /** Every op and broadcast pattern, both directions, at a size with vector bodies and tails. */
    @Test
    void binaryBroadcastPatterns() {
        int[] out = {37, 41};
        int[][] others = {{37, 41}, {41}, {37, 1}, {1}, {1, 41}};
        for (BinaryOp op : BinaryOp.values()) {
            for (int[] s : others) {
                checkBinary(op, out, s, out);     // full op broadcast
                checkBinary(op, s, out, out);     // broadcast op full
            }
            checkBinary(op, new int[] {37, 1}, new int[] {1, 41}, out);   // outer product: both broadcast
            checkBinary(op, new int[] {5, 1, 7}, new int[] {63, 1}, new int[] {5, 63, 7});
            checkBinary(op, new int[] {3, 1, 40}, new int[] {3, 11, 40}, new int[] {3, 11, 40});
        }
    }

    /**
     * Above the task size (2^15 elements): the parallel splits of the forward, and the three ways
     * the backward keeps tasks from adding into the same gradient element (disjoint elements,
     * slices of a kept first axis, private partial sums).
     */
    @Test
    void binaryParallelPathsOnLargeOddShapes() {
        int[] out = {317, 331};
        for (BinaryOp op : new BinaryOp[] {BinaryOp.SUB, BinaryOp.MUL}) {
            for (int[] s : new int[][] {{317, 331}, {331}, {317, 1}, {1}}) {
                checkBinary(op, out, s, out);
                checkBinary(op, s, out, out);
            }
            checkBinary(op, new int[] {317, 1}, new int[] {1, 331}, out);
        }
        checkBinary(BinaryOp.DIV, out, new int[] {317, 1}, out);
        checkBinary(BinaryOp.DIV, new int[] {331}, out, out);
        checkBinary(BinaryOp.ADD, new int[] {2, 50021}, new int[] {2, 1}, new int[] {2, 50021});
    }

    @Test
    void smallAndDegenerateShapes() {
        for (BinaryOp op : BinaryOp.values()) {
            checkBinary(op, new int[] {1}, new int[] {1}, new int[] {1});
            checkBinary(op, new int[] {1, 1}, new int[] {1}, new int[] {1, 1});
            checkBinary(op, new int[] {3}, new int[] {1}, new int[] {3});
            checkBinary(op, new int[] {0, 4}, new int[] {4}, new int[] {0, 4});
        }
    }

    @Test
    void mismatchedStridesAreRejected() {
        var e = assertThrows(IllegalArgumentException.class, () -> ElementwiseKernels.binary(BinaryOp.ADD,
                new float[4], new int[] {1}, new float[4], new int[] {2, 1}, new float[4], new int[] {2, 2}));
        assertTrue(e.getMessage().contains("do not match the output shape [2, 2]"), e.getMessage());
    }
}
