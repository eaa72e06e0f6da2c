package dev.aspo.tensor.ops;

import static dev.aspo.tensor.GradCheck.assertClose;
import static dev.aspo.tensor.GradCheck.check;
import static dev.aspo.tensor.GradCheck.param;
import static dev.aspo.tensor.GradCheck.toDouble;
import static dev.aspo.tensor.ops.LayerNormTest.host;
import static dev.aspo.tensor.ops.LayerNormTest.plus;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.aspo.tensor.Backend;
import dev.aspo.tensor.Backends;
import dev.aspo.tensor.Storage;
import dev.aspo.tensor.Tensor;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ShapesTest {
    private final Random rng = new Random(16);

    /** y[j] = x[i] with y's axis a being x's axis perm[a]: index arithmetic per element. */
    static double[] permuteReference(double[] x, int[] shape, int[] perm) {
        int n = shape.length;
        int[] xStride = new int[n], yShape = new int[n];
        for (int a = n - 1, s = 1; a >= 0; a--) {
            xStride[a] = s;
            s *= shape[a];
        }
        for (int a = 0; a < n; a++) yShape[a] = shape[perm[a]];
        double[] y = new double[x.length];
        for (int j = 0; j < y.length; j++) {
            int rem = j, xi = 0;
            for (int a = n - 1; a >= 0; a--) {
                xi += (rem % yShape[a]) * xStride[perm[a]];
                rem /= yShape[a];
            }
            y[j] = x[xi];
        }
        return y;
    }

    /** Element (outer, i, inner) of the result comes from the input whose axis range holds i. */
    static double[] concatReference(double[][] xs, int[][] shapes, int axis) {
        int outer = 1, inner = 1, total = 0;
        for (int d = 0; d < axis; d++) outer *= shapes[0][d];
        for (int d = axis + 1; d < shapes[0].length; d++) inner *= shapes[0][d];
        for (int[] s : shapes) total += s[axis];
        double[] y = new double[outer * total * inner];
        for (int o = 0; o < outer; o++) {
            int i = 0;
            for (int k = 0; k < xs.length; k++) {
                for (int a = 0; a < shapes[k][axis]; a++, i++) {
                    for (int in = 0; in < inner; in++) {
                        y[(o * total + i) * inner + in] = xs[k][(o * shapes[k][axis] + a) * inner + in];
                    }
                }
            }
        }
        return y;
    }

    @Test
    void permute3dAnd4d() {
        for (int[] perm : new int[][] {{2, 0, 1}, {1, 2, 0}, {0, 2, 1}, {2, 1, 0}}) {
            Tensor x = param(rng, 2, 3, 4);
            check("permute " + Arrays.toString(perm), in -> Shapes.permute(in[0], perm),
                    v -> permuteReference(v[0], new int[] {2, 3, 4}, perm), x);
        }
        for (int[] perm : new int[][] {{0, 2, 1, 3}, {3, 1, 0, 2}, {0, 1, 3, 2}}) {
            Tensor x = param(rng, 2, 3, 2, 3);
            check("permute " + Arrays.toString(perm), in -> Shapes.permute(in[0], perm),
                    v -> permuteReference(v[0], new int[] {2, 3, 2, 3}, perm), x);
        }
    }

    @Test
    void transposeWithNegativeAxes() {
        Tensor x = param(rng, 2, 3, 4);
        check("transpose -1 -2", in -> {
            Tensor t = Shapes.transpose(in[0], -1, -2);
            assertArrayEquals(new int[] {2, 4, 3}, t.shape());
            return t;
        }, v -> permuteReference(v[0], new int[] {2, 3, 4}, new int[] {0, 2, 1}), x);
        Tensor y = param(rng, 3, 5);
        check("transpose 2-d", in -> Shapes.transpose(in[0], 0, 1),
                v -> permuteReference(v[0], new int[] {3, 5}, new int[] {1, 0}), y);
    }

    @Test
    void concatAlongEachAxis() {
        int[][] base = {{2, 3, 4}, {2, 3, 4}, {2, 3, 4}};
        int[] extra = {1, 2, 3};
        for (int axis = 0; axis < 3; axis++) {
            int[][] shapes = new int[3][];
            for (int k = 0; k < 3; k++) {
                shapes[k] = base[k].clone();
                shapes[k][axis] = extra[k];
            }
            Tensor a = param(rng, shapes[0]), b = param(rng, shapes[1]), c = param(rng, shapes[2]);
            int ax = axis;
            check("concat axis " + axis, in -> Shapes.concat(ax, in[0], in[1], in[2]),
                    v -> concatReference(v, shapes, ax), a, b, c);
        }
        Tensor a = param(rng, 2, 1), b = param(rng, 2, 3);
        check("concat axis -1", in -> Shapes.concat(-1, in[0], in[1]),
                v -> concatReference(v, new int[][] {{2, 1}, {2, 3}}, 1), a, b);
    }

    @Test
    void sliceAlongEachAxis() {
        int[] shape = {3, 4, 5};
        for (int axis = 0; axis < 3; axis++) {
            int ax = axis, start = 1, end = shape[axis] - 1;
            Tensor x = param(rng, shape);
            check("slice axis " + axis, in -> Shapes.slice(in[0], ax, start, end), v -> {
                int[] outShape = shape.clone();
                outShape[ax] = end - start;
                double[] y = new double[(int) Tensor.numel(outShape)];
                for (int j = 0; j < y.length; j++) {
                    int k = j % outShape[2], i1 = j / outShape[2] % outShape[1], i0 = j / (outShape[2] * outShape[1]);
                    int[] idx = {i0, i1, k};
                    idx[ax] += start;
                    y[j] = v[0][(idx[0] * shape[1] + idx[1]) * shape[2] + idx[2]];
                }
                return y;
            }, x);
        }
    }

    /** Slices that cover a tensor, concatenated, give it back (and the gradient reaches every element). */
    @Test
    void sliceThenConcatRoundTrips() {
        Tensor x = param(rng, 4, 6);
        check("slice+concat", in -> Shapes.concat(1, Shapes.slice(in[0], 1, 0, 2), Shapes.slice(in[0], -1, 2, 6)),
                v -> v[0].clone(), x);
    }

    /** The kernel's fast paths (blocked last-two swap, row runs) and the general path, with accumulation. */
    @Test
    void permuteKernelOnOddShapes() {
        Backend be = Backends.cpu();
        Object[][] cases = {
            {new int[] {3, 70, 45}, new int[] {0, 2, 1}},             // blocked transpose, partial tiles
            {new int[] {2, 37, 5, 33}, new int[] {0, 2, 1, 3}},       // [B,T,H,D] -> [B,H,T,D]: rows of D
            {new int[] {2, 5, 37, 33}, new int[] {0, 2, 1, 3}},       // and back
            {new int[] {5, 7, 9, 11}, new int[] {3, 0, 2, 1}},        // general odometer
            {new int[] {129, 257}, new int[] {1, 0}},
            {new int[] {4, 3, 2}, new int[] {0, 1, 2}},               // identity
            // big enough to be split over threads (chunks start mid-odometer / mid-tile-row)
            {new int[] {2, 300, 200}, new int[] {0, 2, 1}},
            {new int[] {4, 84, 8, 32}, new int[] {0, 2, 1, 3}},
            {new int[] {29, 17, 13, 11}, new int[] {3, 0, 2, 1}},
        };
        for (Object[] c : cases) {
            int[] shape = (int[]) c[0], perm = (int[]) c[1];
            int n = (int) Tensor.numel(shape);
            float[] x = new float[n], y0 = new float[n];
            for (int i = 0; i < n; i++) {
                x[i] = (float) rng.nextGaussian();
                y0[i] = (float) rng.nextGaussian();
            }
            double[] ref = permuteReference(toDouble(x), shape, perm);
            Storage y = be.allocate(n);
            be.permute(be.upload(x), shape, perm, y, false);
            assertClose("permute " + Arrays.toString(shape) + " " + Arrays.toString(perm), ref, toDouble(host(y)), 0);
            Storage acc = be.upload(y0);
            be.permute(be.upload(x), shape, perm, acc, true);
            assertClose("permute accumulate " + Arrays.toString(perm), plus(y0, ref), toDouble(host(acc)), 1e-6);
        }
    }

    @Test
    void badArgumentsAreNamed() {
        Tensor x = Tensor.zeros(2, 3, 4);
        var e = assertThrows(IllegalArgumentException.class, () -> Shapes.permute(x, 0, 0, 1));
        assertTrue(e.getMessage().contains("[2, 3, 4]"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Shapes.permute(x, 0, 1));
        e = assertThrows(IllegalArgumentException.class, () -> Shapes.concat(1, x, Tensor.zeros(2, 3, 5)));
        assertTrue(e.getMessage().contains("[2, 3, 5]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Shapes.slice(x, 2, 3, 5));
        assertTrue(e.getMessage().contains("[3, 5)") && e.getMessage().contains("[2, 3, 4]"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Shapes.transpose(x, 0, 3));
    }
}
