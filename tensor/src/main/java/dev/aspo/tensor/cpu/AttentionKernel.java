package dev.aspo.tensor.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Fused scaled-dot-product attention with grouped-query heads, forward and backward (see
 * {@link dev.aspo.tensor.Backend#attention}). Works on the projection layout directly: head
 * {@code h} of token {@code t} is the {@code D} floats at {@code q[(b*T + t)*Hq*D + h*D]}.
 *
 * <pre>
 *  forward, one task per (batch b, kv head g); it serves the query heads h of g's group
 *
 *   k[b,:,g] --transpose--> kT [D, S']          (S' = S rounded up to a vector: no tails)
 *   q[b,t,h] --(x kT)*scale--> scores [S] --mask--> softmax --> probs[b,h,t,:] (saved)
 *                                                                    |
 *   v[b,:,g] ------------------------------- sum_s p[s] v[s] <-------+--> out[b,t,h]
 *
 *  backward, same tasks (so dK/dV of kv head g have exactly one writer)
 *
 *   v[b,:,g] --transpose--> vT [D, S']
 *   dO[b,t,h] --(x vT)--> dP [S] --> dS = P * (dP - sum_s dP*P) * scale
 *        dQ[b,t,h] += sum_s dS[s] k[s]          dK[s] += dS[s] q[b,t,h]
 *        dV[s]     += P[s] dO[b,t,h]
 * </pre>
 *
 * Query {@code t} sees keys {@code s < lim = t + S - T + 1} when causal (a KV cache holds the
 * first {@code S - T} keys), minus those with {@code keyMask[b*S + s] == 0}. A query that sees
 * no key gets all-zero probabilities and output (never NaN), so its gradient is zero too.
 *
 * <p>Vectorisation: the score and dP rows are vectorised over keys against the transposed
 * {@code kT}/{@code vT} (a broadcast-FMA per d, no horizontal sums); the weighted sums and
 * gradient updates are axpys over {@code D}. The backward needs no mask arguments: it reads
 * the masks back from the zeros in the saved probabilities.
 */
final class AttentionKernel {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();
    /** Multiply-adds a task should have to be worth a fork. */
    private static final long WORK_GRAIN = 1 << 16;

    private AttentionKernel() {}

    static void forward(float[] q, float[] k, float[] v, float[] out, float[] probs, float[] keyMask,
                        int batch, int seq, int keySeq, int qHeads, int kvHeads, int headDim, float scale,
                        boolean causal) {
        int group = qHeads / kvHeads, ldq = qHeads * headDim, ldk = kvHeads * headDim;
        int sp = roundUp(keySeq);
        Parallel.forRange(batch * kvHeads, grain(group, seq, keySeq, headDim), (i0, i1) -> {
            float[] kt = new float[headDim * sp], row = new float[sp];
            for (int i = i0; i < i1; i++) {
                int b = i / kvHeads, g = i % kvHeads;
                int kvOff = b * keySeq * ldk + g * headDim;
                transpose(k, kvOff, ldk, keySeq, headDim, kt, sp);
                for (int h = g * group; h < (g + 1) * group; h++) {
                    for (int t = 0; t < seq; t++) {
                        int qo = (b * seq + t) * ldq + h * headDim;
                        int po = ((b * qHeads + h) * seq + t) * keySeq;
                        int lim = causal ? Math.max(0, Math.min(keySeq, t + keySeq - seq + 1)) : keySeq;
                        float max = Float.NEGATIVE_INFINITY;
                        if (lim > 0) {
                            rowTimesMatrix(q, qo, kt, sp, headDim, lim, scale, row);
                            for (int s = 0; s < lim; s++) {
                                if (keyMask != null && keyMask[b * keySeq + s] == 0f) row[s] = Float.NEGATIVE_INFINITY;
                                max = Math.max(max, row[s]);
                            }
                        }
                        if (max == Float.NEGATIVE_INFINITY) {        // nothing visible: zeros, not NaN
                            java.util.Arrays.fill(probs, po, po + keySeq, 0f);
                            java.util.Arrays.fill(out, qo, qo + headDim, 0f);
                            continue;
                        }
                        float sum = 0f;
                        for (int s = 0; s < lim; s++) {
                            float e = (float) Math.exp(row[s] - max);   // exp(-inf) = 0 for masked keys
                            row[s] = e;
                            sum += e;
                        }
                        float inv = 1f / sum;
                        for (int s = 0; s < lim; s++) probs[po + s] = row[s] * inv;
                        java.util.Arrays.fill(probs, po + lim, po + keySeq, 0f);
                        weightedRowSum(probs, po, lim, v, kvOff, ldk, headDim, out, qo, false);
                    }
                }
            }
        });
    }

    static void backward(float[] q, float[] k, float[] v, float[] probs, float[] gout, float[] gq, float[] gk,
                         float[] gv, int batch, int seq, int keySeq, int qHeads, int kvHeads, int headDim,
                         float scale) {
        int group = qHeads / kvHeads, ldq = qHeads * headDim, ldk = kvHeads * headDim;
        int sp = roundUp(keySeq);
        Parallel.forRange(batch * kvHeads, grain(group, seq, keySeq, headDim), (i0, i1) -> {
            float[] vt = new float[headDim * sp], ds = new float[sp];
            for (int i = i0; i < i1; i++) {
                int b = i / kvHeads, g = i % kvHeads;
                int kvOff = b * keySeq * ldk + g * headDim;
                transpose(v, kvOff, ldk, keySeq, headDim, vt, sp);
                for (int h = g * group; h < (g + 1) * group; h++) {
                    for (int t = 0; t < seq; t++) {
                        int qo = (b * seq + t) * ldq + h * headDim;
                        int po = ((b * qHeads + h) * seq + t) * keySeq;
                        int lim = keySeq;                     // past the last visible key all P are 0
                        while (lim > 0 && probs[po + lim - 1] == 0f) lim--;
                        if (lim == 0) continue;
                        rowTimesMatrix(gout, qo, vt, sp, headDim, lim, 1f, ds);   // dP = dO vT
                        float dot = 0f;
                        for (int s = 0; s < lim; s++) dot += ds[s] * probs[po + s];
                        for (int s = 0; s < lim; s++) ds[s] = probs[po + s] * (ds[s] - dot) * scale;
                        if (gq != null) weightedRowSum(ds, 0, lim, k, kvOff, ldk, headDim, gq, qo, true);
                        for (int s = 0; s < lim; s++) {
                            int kvRow = kvOff + s * ldk;
                            if (gk != null && ds[s] != 0f) axpy(ds[s], q, qo, gk, kvRow, headDim);
                            if (gv != null && probs[po + s] != 0f) axpy(probs[po + s], gout, qo, gv, kvRow, headDim);
                        }
                    }
                }
            }
        });
    }

    // ---- pieces -------------------------------------------------------------------------------

    /** {@code row[s] = scale * sum_d a[ao + d] * mT[d*sp + s]} for {@code s < lim} (rounded up to a vector). */
    private static void rowTimesMatrix(float[] a, int ao, float[] mT, int sp, int headDim, int lim, float scale,
                                       float[] row) {
        for (int s = 0; s < lim; s += L) {
            FloatVector acc = FloatVector.zero(F);
            for (int d = 0; d < headDim; d++) {
                acc = FloatVector.fromArray(F, mT, d * sp + s).fma(FloatVector.broadcast(F, a[ao + d]), acc);
            }
            acc.mul(scale).intoArray(row, s);
        }
    }

    /** {@code out[oo..oo+D) (+)= sum_{s<lim} w[wo + s] * m[mo + s*ld ..+D)}. */
    private static void weightedRowSum(float[] w, int wo, int lim, float[] m, int mo, int ld, int headDim,
                                       float[] out, int oo, boolean accumulate) {
        int d = 0;
        for (; d < F.loopBound(headDim); d += L) {
            FloatVector acc = accumulate ? FloatVector.fromArray(F, out, oo + d) : FloatVector.zero(F);
            for (int s = 0; s < lim; s++) {
                acc = FloatVector.fromArray(F, m, mo + s * ld + d).fma(FloatVector.broadcast(F, w[wo + s]), acc);
            }
            acc.intoArray(out, oo + d);
        }
        for (; d < headDim; d++) {
            float acc = accumulate ? out[oo + d] : 0f;
            for (int s = 0; s < lim; s++) acc += w[wo + s] * m[mo + s * ld + d];
            out[oo + d] = acc;
        }
    }

    /** {@code y[yo..yo+n) += alpha * x[xo..xo+n)}. */
    private static void axpy(float alpha, float[] x, int xo, float[] y, int yo, int n) {
        FloatVector va = FloatVector.broadcast(F, alpha);
        int d = 0;
        for (; d < F.loopBound(n); d += L) {
            FloatVector.fromArray(F, x, xo + d).fma(va, FloatVector.fromArray(F, y, yo + d)).intoArray(y, yo + d);
        }
        for (; d < n; d++) y[yo + d] += alpha * x[xo + d];
    }

    /** {@code mT[d*sp + s] = m[mo + s*ld + d]}; columns {@code s >= rows} stay zero. */
    private static void transpose(float[] m, int mo, int ld, int rows, int headDim, float[] mT, int sp) {
        for (int s = 0; s < rows; s++) {
            for (int d = 0; d < headDim; d++) mT[d * sp + s] = m[mo + s * ld + d];
        }
    }

    private static int roundUp(int n) {
        return (n + L - 1) / L * L;
    }

    private static int grain(int group, int seq, int keySeq, int headDim) {
        long work = Math.max(1L, (long) group * seq * keySeq * headDim);
        return (int) Math.max(1, WORK_GRAIN / work);
    }
}
