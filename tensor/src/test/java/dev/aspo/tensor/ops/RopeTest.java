package dev.aspo.tensor.ops;

import static dev.aspo.tensor.GradCheck.assertClose;
import static dev.aspo.tensor.GradCheck.check;
import static dev.aspo.tensor.GradCheck.param;
import static dev.aspo.tensor.GradCheck.toDouble;
import static dev.aspo.tensor.ops.LayerNormTest.host;
import static dev.aspo.tensor.ops.LayerNormTest.plus;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.aspo.tensor.Backend;
import dev.aspo.tensor.Backends;
import dev.aspo.tensor.Storage;
import dev.aspo.tensor.Tensor;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class RopeTest {
    private final Random rng = new Random(13);

    /**
     * HF's formula written out in double on x [B, T, H, D]:
     * {@code y = x * cat(cos, cos) + rotate_half(x) * cat(sin, sin)}, {@code rotate_half(x) = cat(-x2, x1)}.
     */
    static double[] reference(double[] x, int[] pos, int batch, int seq, int heads, int dim, double theta) {
        int half = dim / 2;
        double[] y = new double[x.length];
        for (int b = 0; b < batch; b++)
            for (int t = 0; t < seq; t++)
                for (int h = 0; h < heads; h++) {
                    int o = ((b * seq + t) * heads + h) * dim;
                    for (int i = 0; i < dim; i++) {
                        int j = i % half;
                        double angle = pos[b * seq + t] / Math.pow(theta, 2.0 * j / dim);
                        double rotated = i < half ? -x[o + i + half] : x[o + i - half];
                        y[o + i] = x[o + i] * Math.cos(angle) + rotated * Math.sin(angle);
                    }
                }
        return y;
    }

    @Test
    void gradientsWithNonContiguousPositions() {
        int[] pos = {0, 1, 2, 7, 3, 0, 19, 42};         // B=2, T=4: a gap, a restart, a jump
        Tensor x = param(rng, 2, 4, 3, 6);
        check("rope", in -> Rope.apply(in[0], pos, 10000f), v -> reference(v[0], pos, 2, 4, 3, 6, 10000), x);
        int[] pos2 = {5, 100, 3};
        Tensor x2 = param(rng, 1, 3, 2, 4);
        check("rope theta 500000", in -> Rope.apply(in[0], pos2, 500000f), v -> reference(v[0], pos2, 1, 3, 2, 4, 500000), x2);
    }

    /** A [B, T, H*D] projection goes through a reshape view and back; the gradient still arrives. */
    @Test
    void projectionLayoutThroughReshape() {
        int[] pos = {3, 4, 5};
        Tensor x = param(rng, 1, 3, 8);
        check("rope via reshape", in -> Rope.apply(in[0].reshape(1, 3, 2, 4), pos, 10000f).reshape(1, 3, 8),
                v -> reference(v[0], pos, 1, 3, 2, 4, 10000), x);
    }

    /** The kernel against a torch computation of HF's LlamaRotaryEmbedding (see make_rope_fixture.py). */
    @Test
    void matchesHuggingFaceFloat32AnglesAtLargePositions() throws IOException {
        List<String> lines = new ArrayList<>();
        try (InputStream in = RopeTest.class.getResourceAsStream("/parity/rope_hf.txt")) {
            assertTrue(in != null, "parity/rope_hf.txt missing from test resources");
            for (String l : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) lines.add(l.trim());
        }
        int batch = 2, seq = 3, heads = 2, dim = 64, n = batch * seq * heads * dim;
        assertEquals("# B T H D = 2 3 2 64; positions 0 1 2 5 4095 8191", lines.get(0));
        int[] pos = {0, 1, 2, 5, 4095, 8191};
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) ((i * 37) % 101 - 50) / 25f;
        int line = 1;
        for (float theta : new float[] {10000f, 500000f}) {
            assertEquals("theta " + (int) theta, lines.get(line++));
            double[] expected = new double[n];
            for (int i = 0; i < n; i++) expected[i] = Double.parseDouble(lines.get(line++));
            Tensor y = Rope.apply(Tensor.of(x, batch, seq, heads, dim), pos, theta);
            assertClose("rope vs HF theta=" + theta, expected, toDouble(y.toFloatArray()), 1e-6);
        }
    }

    /** Vector tails, several threads, sparse positions; the inverse accumulates R^T x. */
    @Test
    void kernelForwardAndInverseOnOddShapes() {
        Backend be = Backends.cpu();
        for (int[] s : new int[][] {{3, 37, 5, 18}, {2, 64, 8, 64}, {1, 5, 3, 2}}) {
            int batch = s[0], seq = s[1], heads = s[2], dim = s[3], n = batch * seq * heads * dim;
            int[] pos = new int[batch * seq];
            for (int i = 0; i < pos.length; i++) pos[i] = i % 3 == 0 ? rng.nextInt(5000) : i;
            float[] x = new float[n], g0 = new float[n];
            for (int i = 0; i < n; i++) {
                x[i] = (float) rng.nextGaussian();
                g0[i] = (float) rng.nextGaussian();
            }
            double[] xd = toDouble(x);
            Storage y = be.allocate(n);
            be.rope(be.upload(x), y, pos, batch, seq, heads, dim, 10000f, false);
            // float32 angles at positions ~5000 carry ~3e-4 rad of rounding, as in HF
            assertClose("rope " + java.util.Arrays.toString(s), reference(xd, pos, batch, seq, heads, dim, 10000),
                    toDouble(host(y)), 2e-3);
            // inverse: the reference rotation with negated positions, added on
            int[] neg = pos.clone();
            for (int i = 0; i < neg.length; i++) neg[i] = -neg[i];
            Storage g = be.upload(g0);
            be.rope(be.upload(x), g, pos, batch, seq, heads, dim, 10000f, true);
            assertClose("rope inverse", plus(g0, reference(xd, neg, batch, seq, heads, dim, 10000)), toDouble(host(g)), 2e-3);
            // in place forward equals out of place
            Storage inPlace = be.upload(x);
            be.rope(inPlace, inPlace, pos, batch, seq, heads, dim, 10000f, false);
            assertClose("rope in place", toDouble(host(y)), toDouble(host(inPlace)), 0);
        }
    }

    @Test
    void badShapesAreNamed() {
        var e = assertThrows(IllegalArgumentException.class, () -> Rope.apply(Tensor.zeros(1, 2, 3), new int[2], 1e4f));
        assertTrue(e.getMessage().contains("[1, 2, 3]"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Rope.apply(Tensor.zeros(1, 2, 1, 3), new int[2], 1e4f));
        e = assertThrows(IllegalArgumentException.class, () -> Rope.apply(Tensor.zeros(1, 2, 1, 4), new int[3], 1e4f));
        assertTrue(e.getMessage().contains("3 positions"), e.getMessage());
    }
}
