package dev.aspo.tensor.ops;

import static dev.aspo.tensor.GradCheck.check;
import static dev.aspo.tensor.GradCheck.param;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.aspo.tensor.Tensor;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ReductionsTest {
    private final Random rng = new Random(5);
    private static final int[] SHAPE = {2, 3, 19};

    /** Plain loops over the multi-index: out[o, i] = reduce_d x[o, d, i] (sum, mean or max). */
    static double[] reference(String kind, double[] x, int[] shape, int axis) {
        int outer = 1, inner = 1, dim = shape[axis];
        for (int d = 0; d < axis; d++) outer *= shape[d];
        for (int d = axis + 1; d < shape.length; d++) inner *= shape[d];
        double[] y = new double[outer * inner];
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++) {
                double acc = kind.equals("max") ? Double.NEGATIVE_INFINITY : 0;
                for (int d = 0; d < dim; d++) {
                    double v = x[(o * dim + d) * inner + i];
                    acc = kind.equals("max") ? Math.max(acc, v) : acc + v;
                }
                y[o * inner + i] = kind.equals("mean") ? acc / dim : acc;
            }
        return y;
    }

    private static int[] expectedShape(int[] shape, int axis, boolean keepDim) {
        if (keepDim) {
            int[] s = shape.clone();
            s[axis] = 1;
            return s;
        }
        int[] s = new int[shape.length - 1];
        for (int d = 0, k = 0; d < shape.length; d++) if (d != axis) s[k++] = shape[d];
        return s.length == 0 ? new int[] {1} : s;
    }

    @Test
    void sumAndMeanOfEverything() {
        Tensor x = param(rng, SHAPE);
        check("sum", in -> Reductions.sum(in[0]), v -> new double[] {Arrays.stream(v[0]).sum()}, x);
        check("mean", in -> Reductions.mean(in[0]), v -> new double[] {Arrays.stream(v[0]).average().orElseThrow()}, x);
        assertArrayEquals(new int[] {1}, Reductions.sum(x).shape());
        assertArrayEquals(new int[] {1}, Reductions.mean(x).shape());
    }

    @Test
    void sumAndMeanOverEveryAxis() {
        for (int axis = 0; axis < SHAPE.length; axis++)
            for (boolean keep : new boolean[] {false, true}) {
                int a = axis;
                Tensor x = param(rng, SHAPE);
                check("sum axis " + a + " keep " + keep, in -> Reductions.sum(in[0], a, keep),
                        v -> reference("sum", v[0], SHAPE, a), x);
                check("mean axis " + a + " keep " + keep, in -> Reductions.mean(in[0], a, keep),
                        v -> reference("mean", v[0], SHAPE, a), x);
                assertArrayEquals(expectedShape(SHAPE, a, keep), Reductions.sum(x, a, keep).shape());
                assertArrayEquals(expectedShape(SHAPE, a, keep), Reductions.mean(x, a, keep).shape());
                // a negative axis counts from the end
                int neg = a - SHAPE.length;
                check("sum axis " + neg, in -> Reductions.sum(in[0], neg, keep), v -> reference("sum", v[0], SHAPE, a), x);
            }
    }

    /** Distinct values 0.1 apart in random order: no ties, so the max is differentiable. */
    private Tensor distinct(int[] shape) {
        int n = (int) Tensor.numel(shape);
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) order[i] = i;
        java.util.Collections.shuffle(Arrays.asList(order), rng);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (order[i] - n / 2f) * 0.1f;
        return Tensor.of(v, shape).requiresGrad(true);
    }

    @Test
    void maxOverEveryAxis() {
        for (int axis = 0; axis < SHAPE.length; axis++)
            for (boolean keep : new boolean[] {false, true}) {
                int a = axis;
                Tensor x = distinct(SHAPE);
                check("max axis " + a + " keep " + keep, in -> Reductions.max(in[0], a, keep),
                        v -> reference("max", v[0], SHAPE, a), x);
                assertArrayEquals(expectedShape(SHAPE, a, keep), Reductions.max(x, a, keep).shape());
            }
        Tensor v = distinct(new int[] {23});
        check("max of a vector", in -> Reductions.max(in[0], 0, false), t -> reference("max", t[0], new int[] {23}, 0), v);
    }

    @Test
    void maxGradientGoesToTheFirstOfTiedElements() {
        Tensor x = Tensor.of(new float[] {1, 3, 3, 2, 5, 5}, 2, 3).requiresGrad(true);
        Reductions.max(x, 1, false).backward(Tensor.of(new float[] {10, 20}, 2));
        assertArrayEquals(new float[] {0, 10, 0, 0, 20, 0}, x.grad().toFloatArray());
    }

    @Test
    void badAxes() {
        Tensor x = Tensor.zeros(2, 3);
        var e = assertThrows(IllegalArgumentException.class, () -> Reductions.sum(x, 2, false));
        assertTrue(e.getMessage().contains("axis 2 out of range for shape [2, 3]"), e.getMessage());
        var e2 = assertThrows(IllegalArgumentException.class, () -> Reductions.max(Tensor.zeros(2, 0), 1, false));
        assertTrue(e2.getMessage().contains("max: axis 1 of [2, 0] is empty"), e2.getMessage());
    }
}
