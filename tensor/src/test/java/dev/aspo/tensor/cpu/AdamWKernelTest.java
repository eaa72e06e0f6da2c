package dev.aspo.tensor.cpu;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** The vectorised, multi-threaded AdamW kernel against a plain double-precision reference. */
class AdamWKernelTest {
    private final Random rng = new Random(11);

    /** torch.optim.AdamW's update, one element at a time, in double. */
    static void reference(double[] p, double[] g, double[] m, double[] v, double lr, double beta1, double beta2,
                          double eps, double wd, int step) {
        double bc1 = 1 - Math.pow(beta1, step), bc2 = 1 - Math.pow(beta2, step);
        for (int i = 0; i < p.length; i++) {
            p[i] *= 1 - lr * wd;
            m[i] = beta1 * m[i] + (1 - beta1) * g[i];
            v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i];
            p[i] -= lr / bc1 * m[i] / (Math.sqrt(v[i]) / Math.sqrt(bc2) + eps);
        }
    }

    @Test
    void matchesTheReferenceOnOddSizesAndBothLerpForms() {
        // sizes around vector widths (4, 8, 16 floats), and one that splits into two threads' ranges
        // (over twice the 32768 grain), which gets one setting only: the Vector API is slow until
        // it is compiled, and this test should stay quick
        int[] sizes = {0, 1, 3, 7, 8, 15, 16, 17, 33, 70_001};
        double[][] hypers = {  // lr, beta1, beta2, eps, weight decay
                {1e-3, 0.9, 0.999, 1e-8, 0.01},
                {0.05, 0.3, 0.95, 1e-3, 0.5},   // 1 - beta1 >= 0.5: lerp's other form
                {0.02, 0.0, 0.0, 1e-6, 0.0},    // no momentum at all, no decay
        };
        for (int n : sizes) {
            for (double[] h : n > 1000 ? new double[][] {hypers[1]} : hypers) {
                float[] p = new float[n], m = new float[n], v = new float[n];
                for (int i = 0; i < n; i++) p[i] = (float) rng.nextGaussian();
                for (int step = 1; step <= 4; step++) {
                    float[] g = new float[n];
                    for (int i = 0; i < n; i++) g[i] = (float) (rng.nextGaussian() * (i % 5 == 0 ? 1e-3 : 1));
                    // the reference takes the same step from the same float state, so errors do not compound
                    double[] pd = toDouble(p), md = toDouble(m), vd = toDouble(v), gd = toDouble(g);
                    AdamWKernel.step(p, g, m, v, n, h[0], h[1], h[2], h[3], h[4], step);
                    reference(pd, gd, md, vd, h[0], h[1], h[2], h[3], h[4], step);
                    String at = "n=" + n + " lr=" + h[0] + " beta1=" + h[1] + " step " + step;
                    assertClose(at + " p", pd, p);
                    assertClose(at + " m", md, m);
                    assertClose(at + " v", vd, v);
                }
            }
        }
    }

    @Test
    void zeroGradientOnlyDecays() {
        float[] p = {1f, -2f, 3f}, g = new float[3], m = new float[3], v = new float[3];
        AdamWKernel.step(p, g, m, v, 3, 0.1, 0.9, 0.999, 1e-8, 0.5, 1);
        assertClose("p", new double[] {0.95, -1.9, 2.85}, p);
    }

    @Test
    void stepZeroIsRejected() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> AdamWKernel.step(new float[1], new float[1], new float[1], new float[1], 1, 1e-3, 0.9, 0.999, 1e-8, 0, 0));
        assertTrue(e.getMessage().contains("step"), e.getMessage());
    }

    private static double[] toDouble(float[] x) {
        double[] d = new double[x.length];
        for (int i = 0; i < x.length; i++) d[i] = x[i];
        return d;
    }

    /**
     * A few float ulps, relative to each value or to the vector's root-mean-square if larger: a
     * value that is the difference of two larger terms carries the rounding of those terms.
     */
    private static void assertClose(String what, double[] expected, float[] actual) {
        double rms = 0;
        for (double e : expected) rms += e * e / expected.length;
        rms = Math.sqrt(rms);
        for (int i = 0; i < expected.length; i++) {
            double err = Math.abs(actual[i] - expected[i]);
            if (!(err <= 1e-6 * Math.max(rms, Math.abs(expected[i])))) {
                fail(what + "[" + i + "]: expected " + expected[i] + ", got " + actual[i]);
            }
        }
    }
}
