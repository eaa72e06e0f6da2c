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
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Embedding lookup and index-select (both gather rows; the gradients scatter-add). */
class EmbeddingTest {
    private final Random rng = new Random(15);

    /** out[i, :] = x[rows[i], :] for rows of length cols. */
    static double[] reference(double[] x, int[] rows, int cols) {
        double[] y = new double[rows.length * cols];
        for (int i = 0; i < rows.length; i++) System.arraycopy(x, rows[i] * cols, y, i * cols, cols);
        return y;
    }

    @Test
    void lookupWithRepeatedIds() {
        int[] ids = {3, 1, 3, 0, 3, 1};                 // id 3 three times: its gradient is a sum of three
        Tensor w = param(rng, 5, 4);
        check("embedding", in -> {
            Tensor out = Embedding.lookup(in[0], ids, 2, 3);
            assertArrayEquals(new int[] {2, 3, 4}, out.shape());
            return out;
        }, x -> reference(x[0], ids, 4), w);
    }

    @Test
    void flatIdsGiveRowsOfD() {
        int[] ids = {4, 4, 0};
        Tensor w = param(rng, 5, 3);
        check("embedding flat", in -> {
            Tensor out = Embedding.lookup(in[0], ids);
            assertArrayEquals(new int[] {3, 3}, out.shape());
            return out;
        }, x -> reference(x[0], ids, 3), w);
    }

    @Test
    void selectRowsOfA3dTensor() {
        int[] rows = {2, 0, 2};
        Tensor x = param(rng, 3, 2, 3);
        check("selectRows", in -> {
            Tensor out = Index.selectRows(in[0], rows);
            assertArrayEquals(new int[] {3, 2, 3}, out.shape());
            return out;
        }, v -> reference(v[0], rows, 6), x);
    }

    /** Many rows, few distinct ids, columns split over threads with vector tails. */
    @Test
    void kernelsOnOddShapes() {
        Backend be = Backends.cpu();
        int vocab = 11, cols = 67, n = 2000;
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) ids[i] = rng.nextInt(vocab);
        float[] w = randn(vocab * cols), gy = randn(n * cols), g0 = randn(vocab * cols);
        Storage y = be.allocate(n * cols);
        be.gatherRows(be.upload(w), ids, y, cols);
        assertClose("gather", reference(toDouble(w), ids, cols), toDouble(host(y)), 0);
        double[] expected = new double[vocab * cols];
        for (int i = 0; i < n; i++) for (int c = 0; c < cols; c++) expected[ids[i] * cols + c] += gy[i * cols + c];
        Storage g = be.upload(g0);
        be.scatterAddRows(be.upload(gy), ids, g, cols, -1);
        assertClose("scatterAdd", plus(g0, expected), toDouble(host(g)), 1e-5);
        // skipping one id: its rows get nothing, every other row the same sums
        int skip = ids[0];
        double[] skipped = new double[vocab * cols];
        for (int i = 0; i < n; i++) {
            if (ids[i] != skip) for (int c = 0; c < cols; c++) skipped[ids[i] * cols + c] += gy[i * cols + c];
        }
        Storage gs = be.upload(g0);
        be.scatterAddRows(be.upload(gy), ids, gs, cols, skip);
        assertClose("scatterAdd skipping id " + skip, plus(g0, skipped), toDouble(host(gs)), 1e-5);
    }

    @Test
    void badIdsAreNamed() {
        Tensor w = Tensor.zeros(5, 4);
        var e = assertThrows(IllegalArgumentException.class, () -> Embedding.lookup(w, new int[] {1, 5}));
        assertTrue(e.getMessage().contains("token id 5 at position 1") && e.getMessage().contains("[5, 4]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Index.selectRows(w, new int[] {-1}));
        assertTrue(e.getMessage().contains("-1"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Embedding.lookup(w, new int[] {1, 2, 3}, 2, 2));
        assertTrue(e.getMessage().contains("[2, 2]"), e.getMessage());
    }

    private float[] randn(int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) rng.nextGaussian();
        return x;
    }
}
