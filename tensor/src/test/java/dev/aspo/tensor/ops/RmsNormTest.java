package dev.aspo.tensor.ops;

import static dev.aspo.tensor.GradCheck.assertClose;
import static dev.aspo.tensor.GradCheck.check;
import static dev.aspo.tensor.GradCheck.param;
import static dev.aspo.tensor.GradCheck.toDouble;
import static dev.aspo.tensor.ops.LayerNormTest.host;
import static dev.aspo.tensor.ops.LayerNormTest.plus;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.aspo.tensor.Backend;
import dev.aspo.tensor.Backends;
import dev.aspo.tensor.Storage;
import dev.aspo.tensor.Tensor;
import java.util.Random;
import org.junit.jupiter.api.Test;

class RmsNormTest {
    private final Random rng = new Random(12);

    /** HF LlamaRMSNorm in double: w * x / sqrt(mean(x^2) + eps). */
    static double[] reference(double[] x, double[] w, int cols, double eps) {
        double[] y = new double[x.length];
        for (int r = 0; r < x.length / cols; r++) {
            double ms = 0;
            for (int c = 0; c < cols; c++) ms += x[r * cols + c] * x[r * cols + c];
            double rstd = 1 / Math.sqrt(ms / cols + eps);
            for (int c = 0; c < cols; c++) y[r * cols + c] = w[c] * (x[r * cols + c] * rstd);
        }
        return y;
    }

    @Test
    void gradients() {
        Tensor x = param(rng, 2, 3, 7), w = param(rng, 7);
        check("rmsNorm", in -> RmsNorm.apply(in[0], in[1], 1e-6f), v -> reference(v[0], v[1], 7, 1e-6), x, w);
    }

    @Test
    void weightOnlyAndInputOnly() {
        Tensor x = Tensor.randn(rng, 1f, 4, 5), w = param(rng, 5);
        check("rmsNorm weight only", in -> RmsNorm.apply(in[0], in[1], 1e-5f), v -> reference(v[0], v[1], 5, 1e-5), x, w);
        Tensor x2 = param(rng, 4, 5), w2 = Tensor.randn(rng, 1f, 5);
        check("rmsNorm x only", in -> RmsNorm.apply(in[0], in[1], 1e-5f), v -> reference(v[0], v[1], 5, 1e-5), x2, w2);
    }

    @Test
    void kernelMatchesReferenceOnOddShapes() {
        Backend be = Backends.cpu();
        for (int[] rc : new int[][] {{300, 133}, {3, 5}, {40, 64}, {9, 1001}}) {
            int rows = rc[0], cols = rc[1];
            float[] x = randn(rows * cols), w = randn(cols), gy = randn(rows * cols);
            Storage y = be.allocate(rows * cols), rstd = be.allocate(rows);
            be.rmsNorm(be.upload(x), be.upload(w), y, rstd, rows, cols, 1e-6f);
            double[] xd = toDouble(x), wd = toDouble(w), gyd = toDouble(gy);
            assertClose("rmsNorm " + rows + "x" + cols, reference(xd, wd, cols, 1e-6), toDouble(host(y)), 1e-5);

            double[] gxRef = new double[x.length], gwRef = new double[cols];
            for (int r = 0; r < rows; r++) {       // closed form: gx = r g - x r^3 mean(g x), g = gy w
                int o = r * cols;
                double ms = 0, sgx = 0;
                for (int c = 0; c < cols; c++) ms += xd[o + c] * xd[o + c] / cols;
                double rs = 1 / Math.sqrt(ms + 1e-6);
                for (int c = 0; c < cols; c++) {
                    sgx += gyd[o + c] * wd[c] * xd[o + c] / cols;
                    gwRef[c] += gyd[o + c] * xd[o + c] * rs;
                }
                for (int c = 0; c < cols; c++) gxRef[o + c] = rs * gyd[o + c] * wd[c] - xd[o + c] * rs * rs * rs * sgx;
            }
            float[] gx0 = randn(rows * cols), gw0 = randn(cols);
            Storage gx = be.upload(gx0), gw = be.upload(gw0);
            be.rmsNormBackward(be.upload(x), be.upload(w), rstd, be.upload(gy), gx, gw, rows, cols);
            assertClose("rmsNorm gx", plus(gx0, gxRef), toDouble(host(gx)), 1e-4);
            assertClose("rmsNorm gw", plus(gw0, gwRef), toDouble(host(gw)), 1e-4);
        }
    }

    @Test
    void badWeightShape() {
        assertThrows(IllegalArgumentException.class, () -> RmsNorm.apply(Tensor.zeros(2, 5), Tensor.zeros(5, 1), 1e-5f));
    }

    private float[] randn(int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) rng.nextGaussian();
        return v;
    }
}
