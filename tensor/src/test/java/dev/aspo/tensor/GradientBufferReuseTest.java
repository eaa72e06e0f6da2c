package dev.aspo.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import dev.aspo.tensor.ops.Arithmetic;
import dev.aspo.tensor.ops.Reductions;
import dev.aspo.tensor.ops.Unary;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The backward pass hands a non-leaf's gradient buffer to a later tensor of the same size once the
 * non-leaf's own backward has run. A chain of same-sized intermediates (and a view) makes every
 * buffer after the first a reused one; the leaf's gradient must still be the exact one, pass after
 * pass, and leaves keep (and accumulate) theirs. A leaf's buffer dropped by zeroGrad() serves its
 * next gradient, unless grad() handed it to a caller.
 */
class GradientBufferReuseTest {
    @Test
    void sameSizedChainGetsTheExactGradient() {
        Random rng = new Random(7);
        Tensor x = Tensor.uniform(rng, -1, 1, 3, 5).requiresGrad(true);
        Tensor w = Tensor.uniform(rng, -1, 1, 3, 5).requiresGrad(true);
        float[] xv = x.toFloatArray(), wv = w.toFloatArray();
        for (int pass = 1; pass <= 2; pass++) {
            // loss = sum(d * d), d = reshape(exp(2x) * x + w, [15])
            Tensor c = Arithmetic.add(Arithmetic.mul(Unary.exp(Arithmetic.scale(x, 2)), x), w);
            Tensor d = c.reshape(15);
            Tensor loss = Reductions.sum(Arithmetic.mul(d, d));
            loss.backward();
            float[] gx = x.grad().toFloatArray(), gw = w.grad().toFloatArray();
            for (int i = 0; i < xv.length; i++) {
                double e = Math.exp(2.0 * xv[i]), cv = e * xv[i] + wv[i];
                double wantX = pass * 2 * cv * (2 * e * xv[i] + e), wantW = pass * 2 * cv;   // accumulated over passes
                assertEquals(wantX, gx[i], 1e-4 * Math.max(1, Math.abs(wantX)), "pass " + pass + " d/dx[" + i + "]");
                assertEquals(wantW, gw[i], 1e-4 * Math.max(1, Math.abs(wantW)), "pass " + pass + " d/dw[" + i + "]");
            }
            assertNull(c.grad(), "a non-leaf's gradient is released after the pass");
        }
    }

    /** loss = sum(x * x * k): d/dx = 2 k x. */
    private static void backwardOf(Tensor x, float k) {
        Reductions.sum(Arithmetic.scale(Arithmetic.mul(x, x), k)).backward();
    }

    @Test
    void zeroGradReusesALeafsBufferUnlessGradHandedItOut() {
        Tensor x = Tensor.of(new float[] {1, -2, 3}, 3).requiresGrad(true);
        backwardOf(x, 1f);
        Storage first = x.gradStorage();
        x.zeroGrad();
        assertNull(x.grad(), "zeroGrad drops the gradient");
        backwardOf(x, 5f);
        assertSame(first, x.gradStorage(), "the next backward reuses the dropped buffer");
        assertArrayEquals(new float[] {10, -20, 30}, x.grad().toFloatArray(), 0f, "zeroed before reuse: 2*5*x, not accumulated");

        Tensor kept = x.grad();                 // a caller holds the gradient as a tensor
        x.zeroGrad();
        backwardOf(x, 7f);
        assertNotSame(kept.storage(), x.gradStorage(), "a buffer handed out by grad() is never reused");
        assertArrayEquals(new float[] {10, -20, 30}, kept.toFloatArray(), 0f, "the kept gradient keeps its values");
        assertArrayEquals(new float[] {14, -28, 42}, x.grad().toFloatArray(), 0f);
    }
}
