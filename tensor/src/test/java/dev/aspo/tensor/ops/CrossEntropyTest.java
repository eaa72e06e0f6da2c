package dev.aspo.tensor.ops;

import static dev.aspo.tensor.GradCheck.check;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.aspo.tensor.Tensor;
import java.util.Random;
import org.junit.jupiter.api.Test;

class CrossEntropyTest {
    private final Random rng = new Random(13);

    /** loss[r] = log(sum_c exp x[r,c]) - x[r, t], 0 for a negative t; in double. */
    static double[] perRowReference(double[] x, int cols, int[] target) {
        double[] loss = new double[target.length];
        for (int r = 0; r < target.length; r++) {
            if (target[r] < 0) continue;
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (int c = 0; c < cols; c++) max = Math.max(max, x[r * cols + c]);
            for (int c = 0; c < cols; c++) sum += Math.exp(x[r * cols + c] - max);
            loss[r] = max + Math.log(sum) - x[r * cols + target[r]];
        }
        return loss;
    }

    static double meanReference(double[] x, int cols, int[] target) {
        double[] loss = perRowReference(x, cols, target);
        double sum = 0;
        int kept = 0;
        for (int r = 0; r < target.length; r++) {
            if (target[r] >= 0) {
                sum += loss[r];
                kept++;
            }
        }
        return sum / kept;
    }

    @Test
    void perRowWithIgnoredPositions() {
        int[] shape = {2, 3, 19};
        int[] target = {4, -100, 18, 0, -1, 7};
        Tensor x = Tensor.randn(rng, 2f, shape).requiresGrad(true);
        check("crossEntropy perRow", in -> CrossEntropy.perRow(in[0], target), v -> perRowReference(v[0], 19, target), x);
        assertArrayEquals(new int[] {2, 3}, CrossEntropy.perRow(x, target).shape());
        float[] loss = CrossEntropy.perRow(x, target).toFloatArray();
        assertEquals(0f, loss[1]);
        assertEquals(0f, loss[4]);
    }

    @Test
    void meanOverKeptPositions() {
        int[] target = {3, -100, 0, 10, -100};
        Tensor x = Tensor.randn(rng, 3f, 5, 11).requiresGrad(true);
        check("crossEntropy mean", in -> CrossEntropy.mean(in[0], target),
                v -> new double[] {meanReference(v[0], 11, target)}, x);
        assertArrayEquals(new int[] {1}, CrossEntropy.mean(x, target).shape());
    }

    @Test
    void oneDimensionalLogitsAreOnePosition() {
        int[] target = {2};
        Tensor x = Tensor.randn(rng, 1f, 33).requiresGrad(true);
        check("crossEntropy 1-D", in -> CrossEntropy.perRow(in[0], target), v -> perRowReference(v[0], 33, target), x);
    }

    @Test
    void allIgnoredGivesZeroAndNoGradient() {
        Tensor x = Tensor.randn(rng, 1f, 3, 4).requiresGrad(true);
        Tensor loss = CrossEntropy.mean(x, new int[] {-100, -100, -1});
        assertEquals(0f, loss.item());
        loss.backward();
        assertArrayEquals(new float[12], x.grad().toFloatArray());
    }

    @Test
    void outOfRangeTargetNamesThePosition() {
        Tensor x = Tensor.zeros(2, 3, 5);
        var e = assertThrows(IllegalArgumentException.class, () -> CrossEntropy.perRow(x, new int[] {0, 1, 2, 5, 4, 3}));
        assertTrue(e.getMessage().contains("target 5 at position 3"), e.getMessage());
        assertTrue(e.getMessage().contains("[2, 3, 5]") && e.getMessage().contains("5 classes"), e.getMessage());
        var e2 = assertThrows(IllegalArgumentException.class, () -> CrossEntropy.mean(x, new int[] {0, 1}));
        assertTrue(e2.getMessage().contains("2 targets for logits [2, 3, 5] (6 positions)"), e2.getMessage());
    }
}
