package dev.aspo.tensor.ops;

import static dev.aspo.tensor.GradCheck.assertClose;
import static dev.aspo.tensor.GradCheck.check;
import static dev.aspo.tensor.GradCheck.param;
import static dev.aspo.tensor.GradCheck.toDouble;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.aspo.tensor.Backend;
import dev.aspo.tensor.Backends;
import dev.aspo.tensor.Storage;
import dev.aspo.tensor.Tensor;
import java.util.Random;
import org.junit.jupiter.api.Test;

class LayerNormTest {
    private final Random rng = new Random(11);

    /** torch.nn.LayerNorm in double: biased variance over each row; b may be null. */
    static double[] reference(double[] x, double[] w, double[] b, int cols, double eps) {
        int rows = x.length / cols;
        double[] y = new double[x.length];
        for (int r = 0; r < rows; r++) {
            double mean = 0, var = 0;
            for (int c = 0; c < cols; c++) mean += x[r * cols + c];
            mean /= cols;
            for (int c = 0; c < cols; c++) var += (x[r * cols + c] - mean) * (x[r * cols + c] - mean);
            var /= cols;
            double rstd = 1 / Math.sqrt(var + eps);
            for (int c = 0; c < cols; c++) {
                y[r * cols + c] = (x[r * cols + c] - mean) * rstd * w[c] + (b == null ? 0 : b[c]);
            }
        }
        return y;
    }

    @Test
    void withBias() {
        Tensor x = param(rng, 2, 3, 7), w = param(rng, 7), b = param(rng, 7);
        check("layerNorm", in -> LayerNorm.apply(in[0], in[1], in[2], 1e-5f),
                v -> reference(v[0], v[1], v[2], 7, 1e-5), x, w, b);
    }

    @Test
    void withoutBias() {
        Tensor x = param(rng, 4, 5), w = param(rng, 5);
        check("layerNorm no bias", in -> LayerNorm.apply(in[0], in[1], null, 1e-5f),
                v -> reference(v[0], v[1], null, 5, 1e-5), x, w);
    }

    @Test
    void onlySomeInputsNeedGradients() {
        Tensor x = Tensor.randn(rng, 1f, 3, 6), w = param(rng, 6), b = Tensor.randn(rng, 1f, 6);
        check("layerNorm weight only", in -> LayerNorm.apply(in[0], in[1], in[2], 1e-5f),
                v -> reference(v[0], v[1], v[2], 6, 1e-5), x, w, b);
        Tensor x2 = param(rng, 3, 6), w2 = Tensor.randn(rng, 1f, 6);
        check("layerNorm x only", in -> LayerNorm.apply(in[0], in[1], null, 1e-5f),
                v -> reference(v[0], v[1], null, 6, 1e-5), x2, w2);
    }

    /** Bigger odd shapes (vector tails, several threads): values, saved stats, accumulation. */
    @Test
    void kernelMatchesReferenceOnOddShapes() {
        Backend be = Backends.cpu();
        for (int[] rc : new int[][] {{300, 133}, {5, 3}, {64, 16}, {17, 1000}}) {
            int rows = rc[0], cols = rc[1];
            float[] x = randn(rows * cols, 2f, 0.5f), w = randn(cols, 1f, 1f), b = randn(cols, 1f, 0f);
            float[] gy = randn(rows * cols, 1f, 0f);
            Storage y = be.allocate(rows * cols), mean = be.allocate(rows), rstd = be.allocate(rows);
            be.layerNorm(be.upload(x), be.upload(w), be.upload(b), y, mean, rstd, rows, cols, 1e-5f);
            double[] xd = toDouble(x), wd = toDouble(w), bd = toDouble(b), gyd = toDouble(gy);
            assertClose("layerNorm " + rows + "x" + cols, reference(xd, wd, bd, cols, 1e-5), toDouble(host(y)), 1e-5);

            // Gradients from the closed form in double, added onto non-zero buffers.
            double[][] g = referenceBackward(xd, wd, gyd, cols, 1e-5);
            float[] gx0 = randn(rows * cols, 1f, 0f), gw0 = randn(cols, 1f, 0f), gb0 = randn(cols, 1f, 0f);
            Storage gx = be.upload(gx0), gw = be.upload(gw0), gb = be.upload(gb0);
            be.layerNormBackward(be.upload(x), be.upload(w), mean, rstd, be.upload(gy), gx, gw, gb, rows, cols);
            assertClose("layerNorm gx", plus(gx0, g[0]), toDouble(host(gx)), 1e-4);
            assertClose("layerNorm gw", plus(gw0, g[1]), toDouble(host(gw)), 1e-4);
            assertClose("layerNorm gb", plus(gb0, g[2]), toDouble(host(gb)), 1e-4);
            // null gradients are skipped
            be.layerNormBackward(be.upload(x), be.upload(w), mean, rstd, be.upload(gy), null, gw, null, rows, cols);
        }
    }

    @Test
    void badWeightShapeNamesTheShapes() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> LayerNorm.apply(Tensor.zeros(2, 5), Tensor.zeros(4), null, 1e-5f));
        assertTrue(e.getMessage().contains("[4]") && e.getMessage().contains("[2, 5]"), e.getMessage());
    }

    /** gx, gw, gb of sum(y * gy) in double (bias-independent). */
    static double[][] referenceBackward(double[] x, double[] w, double[] gy, int cols, double eps) {
        int rows = x.length / cols;
        double[] gx = new double[x.length], gw = new double[cols], gb = new double[cols];
        for (int r = 0; r < rows; r++) {
            int o = r * cols;
            double mean = 0, var = 0;
            for (int c = 0; c < cols; c++) mean += x[o + c];
            mean /= cols;
            for (int c = 0; c < cols; c++) var += (x[o + c] - mean) * (x[o + c] - mean);
            var /= cols;
            double rstd = 1 / Math.sqrt(var + eps), mg = 0, mgx = 0;
            for (int c = 0; c < cols; c++) {
                double xh = (x[o + c] - mean) * rstd, g = gy[o + c] * w[c];
                mg += g / cols;
                mgx += g * xh / cols;
                gw[c] += gy[o + c] * xh;
                gb[c] += gy[o + c];
            }
            for (int c = 0; c < cols; c++) {
                double xh = (x[o + c] - mean) * rstd;
                gx[o + c] = rstd * (gy[o + c] * w[c] - mg - xh * mgx);
            }
        }
        return new double[][] {gx, gw, gb};
    }

    private float[] randn(int n, float std, float mean) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = mean + std * (float) rng.nextGaussian();
        return v;
    }

    static float[] host(Storage s) {
        float[] out = new float[s.size()];
        s.backend().download(s, 0, out, out.length);
        return out;
    }

    static double[] plus(float[] a, double[] b) {
        double[] c = new double[b.length];
        for (int i = 0; i < c.length; i++) c[i] = a[i] + b[i];
        return c;
    }
}
