package dev.aspo.tensor.ops;

import static dev.aspo.tensor.GradCheck.check;
import static dev.aspo.tensor.GradCheck.param;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.aspo.tensor.BinaryOp;
import dev.aspo.tensor.ScalarMath;
import dev.aspo.tensor.Tensor;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ArithmeticTest {
    private final Random rng = new Random(3);

    /** Pairs of shapes: broadcasts in both directions, size-1 against missing axes, scalars, equal shapes. */
    private static final int[][][] CASES = {
        {{2, 3, 4}, {4}},
        {{4}, {2, 3, 4}},
        {{2, 1, 4}, {3, 1}},
        {{3, 1}, {2, 1, 4}},
        {{1}, {2, 3}},
        {{2, 3}, {1}},
        {{2, 3, 4}, {2, 3, 4}},
        {{5, 1}, {1, 6}},
        {{2, 3, 1}, {2, 1, 17}},
        {{37}, {37}},
    };

    /**
     * The plain broadcasting definition: out's shape is the right-aligned max of the shapes (with
     * size 1 repeated), and out[i] reads each input at i's coordinates, clamped to 0 on its size-1
     * or missing axes.
     */
    static double[] reference(BinaryOp op, double[] a, int[] as, double[] b, int[] bs) {
        int rank = Math.max(as.length, bs.length);
        int[] out = new int[rank];
        for (int d = 0; d < rank; d++) out[d] = Math.max(dim(as, d, rank), dim(bs, d, rank));
        double[] y = new double[(int) Tensor.numel(out)];
        int[] idx = new int[rank];
        for (int i = 0; i < y.length; i++) {
            for (int d = rank - 1, r = i; d >= 0; d--) {
                idx[d] = r % out[d];
                r /= out[d];
            }
            y[i] = ScalarMath.f(op, a[flat(idx, as, rank)], b[flat(idx, bs, rank)]);
        }
        return y;
    }

    private static int dim(int[] s, int d, int rank) {
        int k = d - (rank - s.length);
        return k < 0 ? 1 : s[k];
    }

    private static int flat(int[] idx, int[] s, int rank) {
        int f = 0;
        for (int k = 0; k < s.length; k++) f = f * s[k] + (s[k] == 1 ? 0 : idx[k + rank - s.length]);
        return f;
    }

    /** N(0,1) entries, but for a divisor magnitudes in [0.5, 2.5] (away from the pole). */
    private Tensor operand(BinaryOp op, int side, int[] shape) {
        if (op != BinaryOp.DIV || side == 0) return param(rng, shape);
        float[] v = new float[(int) Tensor.numel(shape)];
        for (int i = 0; i < v.length; i++) v[i] = (float) ((0.5 + 2 * rng.nextDouble()) * (rng.nextBoolean() ? 1 : -1));
        return Tensor.of(v, shape).requiresGrad(true);
    }

    @Test
    void everyOpEveryBroadcast() {
        for (BinaryOp op : BinaryOp.values()) {
            for (int[][] c : CASES) {
                Tensor a = operand(op, 0, c[0]), b = operand(op, 1, c[1]);
                String name = op + " " + java.util.Arrays.toString(c[0]) + " " + java.util.Arrays.toString(c[1]);
                check(name, in -> Arithmetic.binary(op, in[0], in[1]), x -> reference(op, x[0], c[0], x[1], c[1]), a, b);
            }
        }
    }

    @Test
    void namedOpsAreTheirBinaryOp() {
        int[] as = {3, 4}, bs = {4};
        Tensor a = param(rng, as), b = operand(BinaryOp.DIV, 1, bs);
        check("add", in -> Arithmetic.add(in[0], in[1]), x -> reference(BinaryOp.ADD, x[0], as, x[1], bs), a, b);
        check("sub", in -> Arithmetic.sub(in[0], in[1]), x -> reference(BinaryOp.SUB, x[0], as, x[1], bs), a, b);
        check("mul", in -> Arithmetic.mul(in[0], in[1]), x -> reference(BinaryOp.MUL, x[0], as, x[1], bs), a, b);
        check("div", in -> Arithmetic.div(in[0], in[1]), x -> reference(BinaryOp.DIV, x[0], as, x[1], bs), a, b);
    }

    @Test
    void sameTensorOnBothSides() {
        int[] s = {3, 5};
        Tensor x = operand(BinaryOp.DIV, 1, s);
        for (BinaryOp op : BinaryOp.values()) {
            check(op + " x x", in -> Arithmetic.binary(op, in[0], in[0]), v -> reference(op, v[0], s, v[0], s), x);
        }
    }

    @Test
    void onlyOneSideNeedsAGradient() {
        int[] as = {4, 3}, bs = {4, 1};
        Tensor a = Tensor.randn(rng, 1f, as), b = param(rng, bs);
        check("mul, a constant", in -> Arithmetic.mul(in[0], in[1]), x -> reference(BinaryOp.MUL, x[0], as, x[1], bs), a, b);
        assertNull(a.grad());
    }

    @Test
    void scalarForms() {
        Tensor x = param(rng, 2, 19);
        check("scale", in -> Arithmetic.scale(in[0], -1.5f), v -> map(v[0], t -> -1.5 * t), x);
        check("addScalar", in -> Arithmetic.addScalar(in[0], 0.25f), v -> map(v[0], t -> t + 0.25), x);
        check("affine", in -> Arithmetic.affine(in[0], 3f, -2f), v -> map(v[0], t -> 3 * t - 2), x);
    }

    @Test
    void broadcastShapes() {
        assertArrayEquals(new int[] {2, 3, 4}, Arithmetic.broadcastShape("t", new int[] {2, 1, 4}, new int[] {3, 1}));
        assertArrayEquals(new int[] {5, 6}, Arithmetic.broadcastShape("t", new int[] {5, 1}, new int[] {6}));
        assertArrayEquals(new int[] {0, 3}, Arithmetic.broadcastShape("t", new int[] {0, 1}, new int[] {3}));
        assertArrayEquals(new int[] {4, 0, 1}, Arithmetic.broadcastStrides(new int[] {2, 1, 4}, new int[] {2, 3, 4}));
        assertArrayEquals(new int[] {0, 1, 0}, Arithmetic.broadcastStrides(new int[] {3, 1}, new int[] {2, 3, 4}));
    }

    @Test
    void badBroadcastNamesTheShapes() {
        Tensor a = Tensor.zeros(2, 3), b = Tensor.zeros(4);
        var e = assertThrows(IllegalArgumentException.class, () -> Arithmetic.add(a, b));
        assertTrue(e.getMessage().contains("add: cannot broadcast [2, 3] with [4]"), e.getMessage());
        assertTrue(e.getMessage().contains("axis -1 has sizes 3 and 4"), e.getMessage());
        var e2 = assertThrows(IllegalArgumentException.class, () -> Arithmetic.mul(Tensor.zeros(2, 3, 4), Tensor.zeros(5, 1)));
        assertTrue(e2.getMessage().contains("mul: cannot broadcast [2, 3, 4] with [5, 1]: axis -2 has sizes 3 and 5"),
                e2.getMessage());
    }

    private static double[] map(double[] x, java.util.function.DoubleUnaryOperator f) {
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) y[i] = f.applyAsDouble(x[i]);
        return y;
    }
}
