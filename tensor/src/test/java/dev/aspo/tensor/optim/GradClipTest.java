package dev.aspo.tensor.optim;

import static dev.aspo.tensor.optim.AdamWParityTest.setGrad;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.aspo.tensor.Tensor;
import java.util.List;
import org.junit.jupiter.api.Test;

class GradClipTest {
    private static Tensor param(float... grad) {
        Tensor p = Tensor.zeros(grad.length).requiresGrad(true);
        setGrad(p, grad);
        return p;
    }

    @Test
    void clipsToMaxNormAndReturnsTheNormBefore() {
        // |(3, 4, 12)| = 13 across two tensors
        Tensor a = param(3f, 4f), b = param(12f);
        Tensor none = Tensor.zeros(2).requiresGrad(true);   // no gradient: counts as zero, stays null
        double total = GradClip.clipGlobalNorm(List.of(a, none, b), 6.5);
        assertEquals(13.0, total, 1e-12);
        double c = 6.5 / (13.0 + 1e-6);
        assertArrayEquals(new float[] {(float) (3 * c), (float) (4 * c)}, a.grad().toFloatArray(), 1e-6f);
        assertArrayEquals(new float[] {(float) (12 * c)}, b.grad().toFloatArray(), 1e-6f);
        assertEquals(6.5, GradClip.globalNorm(List.of(a, b)), 1e-5, "the new norm is the maximum");
        assertNull(none.grad());
    }

    @Test
    void underTheMaximumNothingChanges() {
        Tensor a = param(0.3f, -0.4f);
        assertEquals(0.5, GradClip.clipGlobalNorm(List.of(a), 0.5 + 2e-6), 1e-7);
        assertArrayEquals(new float[] {0.3f, -0.4f}, a.grad().toFloatArray(), 0f);
    }

    @Test
    void noGradientsGiveZero() {
        assertEquals(0.0, GradClip.clipGlobalNorm(List.of(Tensor.zeros(3).requiresGrad(true)), 1.0));
        assertEquals(0.0, GradClip.clipGlobalNorm(List.of(), 1.0));
    }

    @Test
    void nonFiniteNormIsReportedAndGradientsKept() {
        Tensor a = param(Float.NaN, 1f);
        assertEquals(Double.NaN, GradClip.clipGlobalNorm(List.of(a), 1.0));
        assertEquals(1f, a.grad().toFloatArray()[1]);
    }

    @Test
    void badMaxNormFails() {
        assertThrows(IllegalArgumentException.class, () -> GradClip.clipGlobalNorm(List.of(), 0));
        assertThrows(IllegalArgumentException.class, () -> GradClip.clipGlobalNorm(List.of(), Double.NaN));
    }
}
