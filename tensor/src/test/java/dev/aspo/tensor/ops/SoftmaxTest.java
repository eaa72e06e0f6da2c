package dev.aspo.tensor.ops;

import static dev.aspo.tensor.GradCheck.check;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.aspo.tensor.Tensor;
import java.util.Random;
import org.junit.jupiter.api.Test;

class SoftmaxTest {
    private final Random rng = new Random(9);

    /** Per row: exp(x - max) / sum, or its log; in double. */
    static double[] reference(double[] x, int cols, boolean log) {
        double[] y = new double[x.length];
        for (int r = 0; r < x.length / cols; r++) {
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (int c = 0; c < cols; c++) max = Math.max(max, x[r * cols + c]);
            for (int c = 0; c < cols; c++) sum += Math.exp(x[r * cols + c] - max);
            for (int c = 0; c < cols; c++) {
                double z = x[r * cols + c] - max;
                y[r * cols + c] = log ? z - Math.log(sum) : Math.exp(z) / sum;
            }
        }
        return y;
    }

    @Test
    void softmaxAndLogSoftmaxOverTheLastAxis() {
        for (int[] shape : new int[][] {{3, 5}, {2, 3, 17}, {40}}) {
            int cols = shape[shape.length - 1];
            Tensor x = Tensor.randn(rng, 2f, shape).requiresGrad(true);
            check("softmax " + java.util.Arrays.toString(shape), in -> Softmax.softmax(in[0]), v -> reference(v[0], cols, false), x);
            check("logSoftmax " + java.util.Arrays.toString(shape), in -> Softmax.logSoftmax(in[0]),
                    v -> reference(v[0], cols, true), x);
        }
    }

    @Test
    void hugeLogitsStayFinite() {
        float[] v = {1000, 1001, 999, -1000, 3e4f, 3e4f + 2};
        Tensor y = Softmax.softmax(Tensor.of(v, 2, 3));
        double[] e = reference(new double[] {1000, 1001, 999, -1000, 3e4, 3e4 + 2}, 3, false);
        float[] got = y.toFloatArray();
        for (int i = 0; i < got.length; i++) assertEquals(e[i], got[i], 1e-6, "element " + i);
        assertArrayEquals(new int[] {2, 3}, y.shape());
        float[] logs = Softmax.logSoftmax(Tensor.of(v, 2, 3)).toFloatArray();
        assertEquals(-1.4076060, logs[0], 1e-5);
    }
}
