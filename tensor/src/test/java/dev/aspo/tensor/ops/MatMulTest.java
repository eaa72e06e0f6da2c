package dev.aspo.tensor.ops;

import static dev.aspo.tensor.GradCheck.check;
import static dev.aspo.tensor.GradCheck.param;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.aspo.tensor.GradCheck;
import dev.aspo.tensor.Tensor;
import java.util.Random;
import org.junit.jupiter.api.Test;

class MatMulTest {
    private final Random rng = new Random(7);

    /** Plain triple loop: out[b] = op(A[b]) op(B[b]); a stride of 0 shares one matrix. */
    static double[] reference(double[] a, boolean ta, int aStride, double[] b, boolean tb, int bStride,
                              int batch, int m, int n, int k) {
        double[] c = new double[batch * m * n];
        for (int bi = 0; bi < batch; bi++)
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++) {
                    double s = 0;
                    for (int p = 0; p < k; p++) {
                        double av = ta ? a[bi * aStride + p * m + i] : a[bi * aStride + i * k + p];
                        double bv = tb ? b[bi * bStride + j * k + p] : b[bi * bStride + p * n + j];
                        s += av * bv;
                    }
                    c[bi * m * n + i * n + j] = s;
                }
        return c;
    }

    @Test
    void everyTransposeCombinationBatched() {
        int batch = 3, m = 5, n = 4, k = 6;
        for (boolean ta : new boolean[] {false, true})
            for (boolean tb : new boolean[] {false, true}) {
                Tensor a = param(rng, batch, ta ? k : m, ta ? m : k);
                Tensor b = param(rng, batch, tb ? n : k, tb ? k : n);
                check("matmul ta=" + ta + " tb=" + tb, in -> MatMul.matmul(in[0], in[1], ta, tb),
                        x -> reference(x[0], ta, m * k, x[1], tb, k * n, batch, m, n, k), a, b);
            }
    }

    @Test
    void sharedRightOperandLikeALinearLayer() {
        int m = 7, n = 3, k = 5;
        for (boolean ta : new boolean[] {false, true})
            for (boolean tb : new boolean[] {false, true}) {
                Tensor a = param(rng, 2, ta ? k : m, ta ? m : k);
                Tensor b = param(rng, tb ? n : k, tb ? k : n);
                check("matmul shared b ta=" + ta + " tb=" + tb, in -> MatMul.matmul(in[0], in[1], ta, tb),
                        x -> reference(x[0], ta, m * k, x[1], tb, 0, 2, m, n, k), a, b);
            }
    }

    @Test
    void sharedLeftOperand() {
        int m = 4, n = 6, k = 3;
        for (boolean ta : new boolean[] {false, true})
            for (boolean tb : new boolean[] {false, true}) {
                Tensor a = param(rng, ta ? k : m, ta ? m : k);
                Tensor b = param(rng, 2, tb ? n : k, tb ? k : n);
                check("matmul shared a ta=" + ta + " tb=" + tb, in -> MatMul.matmul(in[0], in[1], ta, tb),
                        x -> reference(x[0], ta, 0, x[1], tb, k * n, 2, m, n, k), a, b);
            }
    }

    @Test
    void mismatchedShapesFailWithTheShapes() {
        Tensor a = Tensor.zeros(2, 3), b = Tensor.zeros(4, 5);
        var e = assertThrows(IllegalArgumentException.class, () -> MatMul.matmul(a, b));
        org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("[2, 3]"), e.getMessage());
    }
}
