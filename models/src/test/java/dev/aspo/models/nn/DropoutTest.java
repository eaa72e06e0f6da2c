package dev.aspo.models.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.ops.Reductions;
import java.util.Random;
import org.junit.jupiter.api.Test;

class DropoutTest {
    @Test
    void zeroesAboutPOfTheEntriesAndScalesTheRestByOneOverOneMinusP() {
        int n = 20000;
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = 1 + i % 7;
        float[] y = Dropout.apply(Tensor.of(x, 4, n / 4), 0.3, new Random(1)).toFloatArray();
        int zeros = 0;
        for (int i = 0; i < n; i++) {
            if (y[i] == 0) zeros++;
            else assertEquals(x[i] / 0.7f, y[i], 1e-5f * y[i], "kept entry " + i);
        }
        assertEquals(0.3, zeros / (double) n, 0.02, "fraction dropped");
    }

    @Test
    void theGradientIsTheSameMask() {
        Tensor x = Tensor.randn(new Random(2), 1f, 3, 50).requiresGrad(true);
        Tensor y = Dropout.apply(x, 0.5, new Random(3));
        Reductions.sum(y).backward();
        float[] g = x.grad().toFloatArray(), yv = y.toFloatArray();
        for (int i = 0; i < g.length; i++) assertEquals(yv[i] == 0 ? 0f : 2f, g[i], "entry " + i);
    }

    @Test
    void sameSeedSameMaskAndNoDropoutIsTheInputItself() {
        Tensor x = Tensor.randn(new Random(4), 1f, 64);
        assertEquals(java.util.Arrays.toString(Dropout.apply(x, 0.2, new Random(5)).toFloatArray()),
                java.util.Arrays.toString(Dropout.apply(x, 0.2, new Random(5)).toFloatArray()));
        assertSame(x, Dropout.apply(x, 0, new Random(6)));
        assertThrows(IllegalArgumentException.class, () -> Dropout.apply(x, 1, new Random(6)));
    }
}
