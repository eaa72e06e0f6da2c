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
    void addMatmulIsTheSumOfItsTermAndTheProduct() {
        int m = 7, n = 5, k = 3;
        for (boolean tb : new boolean[] {false, true}) {
            Tensor c = param(rng, 2, m, n), a = param(rng, 2, m, k), b = param(rng, tb ? n : k, tb ? k : n);
            check("addMatmul tb=" + tb, in -> MatMul.addMatmul(in[0], in[1], in[2], tb), x -> {
                double[] p = reference(x[1], false, m * k, x[2], tb, 0, 2, m, n, k);
                for (int i = 0; i < p.length; i++) p[i] += x[0][i];
                return p;
            }, c, a, b);
        }
    }

    @Test
    void addMatmulGivesTheValuesOfAddAfterMatmul() {
        // shapes around the GEMM's tiles and vector widths, and a LoRA-like rank: the copy of c
        // plus the accumulating product is the separate product added to c
        int[][] shapes = {{1, 4, 3}, {5, 17, 9}, {33, 70, 16}, {64, 129, 128}};
        for (int[] s : shapes) {
            int m = s[0], n = s[1], k = s[2];
            Tensor c = Tensor.uniform(rng, -1, 1, m, n), a = Tensor.uniform(rng, -1, 1, m, k), b = Tensor.uniform(rng, -1, 1, n, k);
            float[] fused = MatMul.addMatmul(c, a, b, true).toFloatArray();
            float[] apart = Arithmetic.add(c, MatMul.matmul(a, b, false, true)).toFloatArray();
            GradCheck.assertClose("addMatmul " + java.util.Arrays.toString(s), apart, fused, 1e-6);
        }
    }

    @Test
    void addMatmulChecksItsShapes() {
        var e = assertThrows(IllegalArgumentException.class, () -> MatMul.addMatmul(Tensor.zeros(2, 4), Tensor.zeros(2, 3),
                Tensor.zeros(5, 3), true));
        org.junit.jupiter.api.Assertions.assertEquals("addMatmul: c [2, 4] is not the shape of the product [2, 5]", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> MatMul.addMatmul(Tensor.zeros(2, 5), Tensor.zeros(2, 3), Tensor.zeros(5, 4),
                true));
    }

    @Test
    void mismatchedShapesFailWithTheShapes() {
        Tensor a = Tensor.zeros(2, 3), b = Tensor.zeros(4, 5);
        var e = assertThrows(IllegalArgumentException.class, () -> MatMul.matmul(a, b));
        org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("[2, 3]"), e.getMessage());
    }
}
