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
import java.util.Random;
import org.junit.jupiter.api.Test;

class AttentionTest {
    private final Random rng = new Random(14);

    /** Sizes of one attention call. */
    record Dims(int batch, int seq, int keySeq, int qHeads, int kvHeads, int headDim, boolean causal) {
        int q() {
            return batch * seq * qHeads * headDim;
        }

        int kv() {
            return batch * keySeq * kvHeads * headDim;
        }

        boolean visible(float[] mask, int b, int t, int s) {
            return (!causal || s <= t + keySeq - seq) && (mask == null || mask[b * keySeq + s] != 0f);
        }
    }

    /**
     * Plain attention in double; returns {out [B,T,Hq*D], probs [B,Hq,T,S]}. A query with no
     * visible key has zero probabilities and output.
     */
    static double[][] reference(double[] q, double[] k, double[] v, Dims d, float[] mask, double scale) {
        int D = d.headDim, ldq = d.qHeads * D, ldk = d.kvHeads * D, S = d.keySeq;
        double[] out = new double[d.q()], probs = new double[d.batch * d.qHeads * d.seq * S];
        for (int b = 0; b < d.batch; b++)
            for (int h = 0; h < d.qHeads; h++)
                for (int t = 0; t < d.seq; t++) {
                    int g = h / (d.qHeads / d.kvHeads), qo = (b * d.seq + t) * ldq + h * D;
                    int po = ((b * d.qHeads + h) * d.seq + t) * S;
                    double[] sc = new double[S];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int s = 0; s < S; s++) {
                        if (!d.visible(mask, b, t, s)) continue;
                        for (int i = 0; i < D; i++) sc[s] += q[qo + i] * k[(b * S + s) * ldk + g * D + i];
                        sc[s] *= scale;
                        max = Math.max(max, sc[s]);
                    }
                    if (max == Double.NEGATIVE_INFINITY) continue;
                    double sum = 0;
                    for (int s = 0; s < S; s++) if (d.visible(mask, b, t, s)) sum += Math.exp(sc[s] - max);
                    for (int s = 0; s < S; s++) {
                        if (!d.visible(mask, b, t, s)) continue;
                        double p = Math.exp(sc[s] - max) / sum;
                        probs[po + s] = p;
                        for (int i = 0; i < D; i++) out[qo + i] += p * v[(b * S + s) * ldk + g * D + i];
                    }
                }
        return new double[][] {out, probs};
    }

    /** The backward in double, written from the chain rule: {dq, dk, dv}. */
    static double[][] referenceBackward(double[] q, double[] k, double[] v, double[] probs, double[] dO, Dims d,
                                        double scale) {
        int D = d.headDim, ldq = d.qHeads * D, ldk = d.kvHeads * D, S = d.keySeq;
        double[] dq = new double[q.length], dk = new double[k.length], dv = new double[v.length];
        for (int b = 0; b < d.batch; b++)
            for (int h = 0; h < d.qHeads; h++)
                for (int t = 0; t < d.seq; t++) {
                    int g = h / (d.qHeads / d.kvHeads), qo = (b * d.seq + t) * ldq + h * D;
                    int po = ((b * d.qHeads + h) * d.seq + t) * S;
                    double[] dp = new double[S];
                    double rowDot = 0;
                    for (int s = 0; s < S; s++) {
                        for (int i = 0; i < D; i++) dp[s] += dO[qo + i] * v[(b * S + s) * ldk + g * D + i];
                        rowDot += dp[s] * probs[po + s];
                    }
                    for (int s = 0; s < S; s++) {
                        double p = probs[po + s], ds = p * (dp[s] - rowDot);
                        int ko = (b * S + s) * ldk + g * D;
                        for (int i = 0; i < D; i++) {
                            dq[qo + i] += scale * ds * k[ko + i];
                            dk[ko + i] += scale * ds * q[qo + i];
                            dv[ko + i] += p * dO[qo + i];
                        }
                    }
                }
        return new double[][] {dq, dk, dv};
    }

    private void gradCheck(String name, Dims d, float[] mask) {
        Tensor q = param(rng, d.batch, d.seq, d.qHeads * d.headDim);
        Tensor k = param(rng, d.batch, d.keySeq, d.kvHeads * d.headDim);
        Tensor v = param(rng, d.batch, d.keySeq, d.kvHeads * d.headDim);
        double scale = 1 / Math.sqrt(d.headDim);
        check(name, in -> {
            Tensor out = Attention.apply(in[0], in[1], in[2], d.qHeads, d.kvHeads, d.causal, mask);
            for (float f : out.toFloatArray()) assertTrue(Float.isFinite(f), name + ": non-finite output");
            return out;
        }, x -> reference(x[0], x[1], x[2], d, mask, scale)[0], q, k, v);
        for (Tensor t : new Tensor[] {q, k, v}) {
            for (float f : t.grad().toFloatArray()) assertTrue(Float.isFinite(f), name + ": non-finite gradient");
        }
    }

    @Test
    void causalMultiHead() {
        gradCheck("causal MHA", new Dims(2, 4, 4, 2, 2, 3, true), null);
    }

    @Test
    void nonCausalGroupedQuery() {
        gradCheck("full GQA 4/2", new Dims(1, 3, 5, 4, 2, 4, false), null);
    }

    /** S > T: the first S - T keys are a cache every query sees; one kv head for all queries. */
    @Test
    void causalWithKeyCacheOffsetAndOneKvHead() {
        gradCheck("causal S>T MQA 4/1", new Dims(2, 2, 5, 4, 1, 3, true), null);
        gradCheck("causal S>T GQA 4/2", new Dims(1, 3, 4, 4, 2, 2, true), null);
    }

    /** Padding keys masked; query 0 of batch 0 sees only key 0, which is masked: a zero row, no NaN. */
    @Test
    void keyMaskWithAFullyMaskedRow() {
        float[] mask = {0, 1, 1, 1, /* batch 1 */ 1, 1, 0, 0};
        gradCheck("causal + key mask", new Dims(2, 4, 4, 2, 1, 3, true), mask);
        float[] allMasked = {1, 0, 1, /* batch 1: everything */ 0, 0, 0};
        gradCheck("full + key mask", new Dims(2, 2, 3, 2, 2, 2, false), allMasked);
    }

    /** Only k and v need gradients (q constant): the kernel gets a null dQ buffer. */
    @Test
    void gradientsForSomeInputsOnly() {
        Dims d = new Dims(2, 3, 4, 2, 1, 3, true);
        Tensor q = Tensor.randn(rng, 1f, 2, 3, 6), k = param(rng, 2, 4, 3), v = param(rng, 2, 4, 3);
        double scale = 1 / Math.sqrt(3);
        check("attention k,v only", in -> Attention.apply(in[0], in[1], in[2], 2, 1, true, null),
                x -> reference(x[0], x[1], x[2], d, null, scale)[0], q, k, v);
        Tensor q2 = param(rng, 2, 3, 6), k2 = Tensor.randn(rng, 1f, 2, 4, 3), v2 = Tensor.randn(rng, 1f, 2, 4, 3);
        check("attention q only", in -> Attention.apply(in[0], in[1], in[2], 2, 1, true, null),
                x -> reference(x[0], x[1], x[2], d, null, scale)[0], q2, k2, v2);
    }

    @Test
    void explicitScale() {
        Dims d = new Dims(1, 3, 3, 2, 1, 4, true);
        Tensor q = param(rng, 1, 3, 8), k = param(rng, 1, 3, 4), v = param(rng, 1, 3, 4);
        check("attention scale 0.3", in -> Attention.apply(in[0], in[1], in[2], 2, 1, true, null, 0.3f),
                x -> reference(x[0], x[1], x[2], d, null, 0.3)[0], q, k, v);
    }

    /**
     * The vectorised, threaded kernels on bigger odd shapes against the double reference: output,
     * saved probabilities, and gradients accumulated onto non-zero buffers.
     */
    @Test
    void kernelMatchesReferenceOnOddShapes() {
        Backend be = Backends.cpu();
        Dims[] cases = {
            new Dims(3, 37, 45, 6, 2, 20, true),
            new Dims(2, 84, 84, 8, 4, 32, true),
            new Dims(2, 37, 37, 4, 4, 32, false),
            new Dims(1, 1, 50, 4, 1, 17, true),      // one generation step against a cache
            new Dims(2, 5, 3, 2, 1, 8, true),        // S < T: the first queries see nothing
            new Dims(1, 19, 23, 2, 1, 115, true),    // D past 4, 2 and 1 vectors of 16 or 8 floats, and a scalar tail
        };
        for (Dims d : cases) {
            float[] mask = null;
            if (d.headDim == 20) {
                mask = new float[d.batch * d.keySeq];
                for (int i = 0; i < mask.length; i++) mask[i] = rng.nextFloat() < 0.2f ? 0f : 1f;
            }
            float[] q = randn(d.q()), k = randn(d.kv()), v = randn(d.kv()), dO = randn(d.q());
            float scale = (float) (1 / Math.sqrt(d.headDim));
            Storage out = be.allocate(d.q()), probs = be.allocate(d.batch * d.qHeads * d.seq * d.keySeq);
            Storage qs = be.upload(q), ks = be.upload(k), vs = be.upload(v);
            be.attention(qs, ks, vs, out, probs, mask, d.batch, d.seq, d.keySeq, d.qHeads, d.kvHeads, d.headDim,
                    scale, d.causal);
            double[][] ref = reference(toDouble(q), toDouble(k), toDouble(v), d, mask, scale);
            assertClose(d + " out", ref[0], toDouble(host(out)), 1e-5);
            assertClose(d + " probs", ref[1], toDouble(host(probs)), 1e-5);

            double[][] g = referenceBackward(toDouble(q), toDouble(k), toDouble(v), ref[1], toDouble(dO), d, scale);
            float[] gq0 = randn(d.q()), gk0 = randn(d.kv()), gv0 = randn(d.kv());
            Storage gq = be.upload(gq0), gk = be.upload(gk0), gv = be.upload(gv0);
            be.attentionBackward(qs, ks, vs, probs, be.upload(dO), gq, gk, gv, d.batch, d.seq, d.keySeq, d.qHeads,
                    d.kvHeads, d.headDim, scale);
            assertClose(d + " dq", plus(gq0, g[0]), toDouble(host(gq)), 1e-4);
            assertClose(d + " dk", plus(gk0, g[1]), toDouble(host(gk)), 1e-4);
            assertClose(d + " dv", plus(gv0, g[2]), toDouble(host(gv)), 1e-4);
        }
    }

    @Test
    void badShapesAreNamed() {
        Tensor q = Tensor.zeros(2, 3, 8), k = Tensor.zeros(2, 4, 4), v = Tensor.zeros(2, 4, 4);
        var e = assertThrows(IllegalArgumentException.class, () -> Attention.apply(q, k, v, 3, 1, true, null));
        assertTrue(e.getMessage().contains("[2, 3, 8]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Attention.apply(q, k, v, 2, 2, true, null));
        assertTrue(e.getMessage().contains("k [2, 4, 4]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Attention.apply(q, k, v, 2, 1, true, new float[5]));
        assertTrue(e.getMessage().contains("keyMask has 5"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Attention.apply(q, k, Tensor.zeros(2, 5, 4), 2, 1, true, null));
        assertEquals(3, Attention.apply(q, k, v, 2, 1, true, null).rank());
    }

    private float[] randn(int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) rng.nextGaussian();
        return x;
    }
}
