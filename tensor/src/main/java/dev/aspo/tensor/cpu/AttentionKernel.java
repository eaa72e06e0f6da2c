package dev.aspo.tensor.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
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
 *  backward, same tasks (so dK/dV of kv head g have exactly one writer: no races)
 *
 *   v[b,:,g] --transpose--> vT [D, S']
 *   per query row t:  dO[b,t,h] --(x vT)--> dP [S] --> dS[t,:] = P * (dP - sum_s dP*P) * scale
 *                     dQ[b,t,h] += sum_s dS[t,s] k[s]
 *   per key s:        dK[s] += sum_t dS[t,s] q[b,t,h]       (columns of dS and P, summed in
 *                     dV[s] += sum_t P[t,s]  dO[b,t,h]       registers: one store per key)
 * </pre>
 *
 * Query {@code t} sees keys {@code s < lim = t + S - T + 1} when causal (a KV cache holds the
 * first {@code S - T} keys), minus those with {@code keyMask[b*S + s] == 0}. A query that sees
 * no key gets all-zero probabilities and output (never NaN), so its gradient is zero too.
 *
 * <p>Vectorisation: the score and dP rows are vectorised over keys against the transposed
 * {@code kT}/{@code vT} (a broadcast-FMA per d, no horizontal sums, several key blocks in
 * flight); softmax uses {@link VectorMath#exp(FloatVector)} (same bits in every JIT tier); the
 * weighted sums of rows are over {@code D} with four accumulators. The backward needs no mask arguments: it reads the masks back from
 * the zeros in the saved probabilities (trailing zeros bound each row's work).
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
                        float max = lim == 0 ? Float.NEGATIVE_INFINITY
                                : maskedScores(q, qo, kt, sp, headDim, lim, scale, keyMask, b * keySeq, row);
                        if (max == Float.NEGATIVE_INFINITY) {        // nothing visible: zeros, not NaN
                            java.util.Arrays.fill(probs, po, po + keySeq, 0f);
                            java.util.Arrays.fill(out, qo, qo + headDim, 0f);
                            continue;
                        }
                        softmaxInPlace(row, lim, max);
                        System.arraycopy(row, 0, probs, po, lim);
                        java.util.Arrays.fill(probs, po + lim, po + keySeq, 0f);
                        weightedRowSum(probs, po, 1, lim, v, kvOff, ldk, headDim, out, qo, false);
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
            float[] vt = new float[headDim * sp], ds = new float[seq * sp], p = new float[sp];
            int[] lims = new int[seq];
            for (int i = i0; i < i1; i++) {
                int b = i / kvHeads, g = i % kvHeads;
                int kvOff = b * keySeq * ldk + g * headDim;
                transpose(v, kvOff, ldk, keySeq, headDim, vt, sp);
                for (int h = g * group; h < (g + 1) * group; h++) {
                    int pBase = (b * qHeads + h) * seq * keySeq, qBase = b * seq * ldq + h * headDim;
                    // dS row by row (rows of ds, zero past each row's last visible key), and dQ
                    for (int t = 0; t < seq; t++) {
                        int qo = qBase + t * ldq, po = pBase + t * keySeq, ro = t * sp;
                        int lim = visibleEnd(probs, po, keySeq);
                        lims[t] = lim;
                        if (lim == 0) {
                            java.util.Arrays.fill(ds, ro, ro + sp, 0f);
                            continue;
                        }
                        System.arraycopy(probs, po, p, 0, lim);             // zero-padded to a vector
                        java.util.Arrays.fill(p, lim, roundUp(lim), 0f);
                        rowTimesMatrix(gout, qo, vt, sp, headDim, lim, 1f, ds, ro);   // dP = dO vT
                        scoreGradient(ds, ro, p, lim, scale);
                        java.util.Arrays.fill(ds, ro + roundUp(lim), ro + sp, 0f);
                        if (gq != null) weightedRowSum(ds, ro, 1, lim, k, kvOff, ldk, headDim, gq, qo, true);
                    }
                    // dK = dS^T q and dV = P^T dO: for each key, a sum over the queries that see it
                    // t0 = the first query that sees key s; reach = max(lims[0..t0]) (O(T + S) in all)
                    int t0 = 0, reach = seq > 0 ? lims[0] : 0;
                    for (int s = 0; s < keySeq; s++) {
                        while (reach <= s && ++t0 < seq) reach = Math.max(reach, lims[t0]);
                        if (t0 >= seq) break;
                        int n = seq - t0, kvRow = kvOff + s * ldk, qo = qBase + t0 * ldq;
                        if (gk != null) weightedRowSum(ds, t0 * sp + s, sp, n, q, qo, ldq, headDim, gk, kvRow, true);
                        if (gv != null) {
                            weightedRowSum(probs, pBase + t0 * keySeq + s, keySeq, n, gout, qo, ldq, headDim, gv, kvRow, true);
                        }
                    }
                }
            }
        });
    }

    // ---- pieces -------------------------------------------------------------------------------

    /**
     * Scores of one query against keys {@code [0, lim)} into {@code row}, masked keys and the
     * padding up to the vector boundary set to -inf; returns the row's maximum.
     */
    private static float maskedScores(float[] q, int qo, float[] kt, int sp, int headDim, int lim, float scale,
                                      float[] keyMask, int maskOff, float[] row) {
        rowTimesMatrix(q, qo, kt, sp, headDim, lim, scale, row, 0);
        int end = roundUp(lim);
        java.util.Arrays.fill(row, lim, end, Float.NEGATIVE_INFINITY);
        if (keyMask != null) {
            for (int s = 0; s < lim; s++) if (keyMask[maskOff + s] == 0f) row[s] = Float.NEGATIVE_INFINITY;
        }
        FloatVector max = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        for (int s = 0; s < end; s += L) max = max.max(FloatVector.fromArray(F, row, s));
        return max.reduceLanes(VectorOperators.MAX);
    }

    /** {@code row[s] = exp(row[s] - max) / sum} over the vector-padded row ({@code exp(-inf) = 0}). */
    private static void softmaxInPlace(float[] row, int lim, float max) {
        int end = roundUp(lim);
        FloatVector vmax = FloatVector.broadcast(F, max), sum = FloatVector.zero(F);
        for (int s = 0; s < end; s += L) {
            FloatVector e = VectorMath.exp(FloatVector.fromArray(F, row, s).sub(vmax));
            e.intoArray(row, s);
            sum = sum.add(e);
        }
        FloatVector inv = FloatVector.broadcast(F, 1f / VectorMath.sumLanes(sum));
        for (int s = 0; s < end; s += L) FloatVector.fromArray(F, row, s).mul(inv).intoArray(row, s);
    }

    /**
     * {@code row[ro + s] = scale * sum_d a[ao + d] * mT[d*sp + s]} for {@code s < lim} rounded up to a
     * vector. Up to four key blocks at a time: independent FMA chains that share each broadcast
     * (one chain would wait on the FMA latency at every step).
     */
    private static void rowTimesMatrix(float[] a, int ao, float[] mT, int sp, int headDim, int lim, float scale,
                                       float[] row, int ro) {
        int s = 0;
        for (; s + 3 * L < lim; s += 4 * L) {
            FloatVector acc0 = FloatVector.zero(F), acc1 = FloatVector.zero(F);
            FloatVector acc2 = FloatVector.zero(F), acc3 = FloatVector.zero(F);
            for (int d = 0; d < headDim; d++) {
                FloatVector ad = FloatVector.broadcast(F, a[ao + d]);
                int o = d * sp + s;
                acc0 = FloatVector.fromArray(F, mT, o).fma(ad, acc0);
                acc1 = FloatVector.fromArray(F, mT, o + L).fma(ad, acc1);
                acc2 = FloatVector.fromArray(F, mT, o + 2 * L).fma(ad, acc2);
                acc3 = FloatVector.fromArray(F, mT, o + 3 * L).fma(ad, acc3);
            }
            acc0.mul(scale).intoArray(row, ro + s);
            acc1.mul(scale).intoArray(row, ro + s + L);
            acc2.mul(scale).intoArray(row, ro + s + 2 * L);
            acc3.mul(scale).intoArray(row, ro + s + 3 * L);
        }
        for (; s + L < lim; s += 2 * L) {
            FloatVector acc0 = FloatVector.zero(F), acc1 = FloatVector.zero(F);
            for (int d = 0; d < headDim; d++) {
                FloatVector ad = FloatVector.broadcast(F, a[ao + d]);
                acc0 = FloatVector.fromArray(F, mT, d * sp + s).fma(ad, acc0);
                acc1 = FloatVector.fromArray(F, mT, d * sp + s + L).fma(ad, acc1);
            }
            acc0.mul(scale).intoArray(row, ro + s);
            acc1.mul(scale).intoArray(row, ro + s + L);
        }
        if (s < lim) {
            FloatVector acc = FloatVector.zero(F);
            for (int d = 0; d < headDim; d++) {
                acc = FloatVector.fromArray(F, mT, d * sp + s).fma(FloatVector.broadcast(F, a[ao + d]), acc);
            }
            acc.mul(scale).intoArray(row, ro + s);
        }
    }

    /**
     * {@code out[oo..oo+D) (+)= sum_{i<n} w[wo + i*ws] * m[mo + i*ld ..+D)}: a weighted sum of
     * {@code n} rows of length {@code D} (the weights may be a row or, with stride {@code ws}, a
     * column). Even and odd rows go to separate accumulators, two vectors of D at a time: four
     * independent FMA chains (D = 32 is exactly two 512-bit vectors).
     */
    private static void weightedRowSum(float[] w, int wo, int ws, int n, float[] m, int mo, int ld, int headDim,
                                       float[] out, int oo, boolean accumulate) {
        int d = 0;
        // Four vectors of D at once (D = 32 with AVX2's 8 floats): eight chains, and each weight
        // broadcast, row address and bound check serves eight multiply-adds instead of four. The
        // same sums per lane in the same order as the loop below, so the same bits.
        for (; d + 4 * L <= headDim; d += 4 * L) {
            FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
            int i = 0;
            for (; i + 1 < n; i += 2) {
                FloatVector w0 = FloatVector.broadcast(F, w[wo + i * ws]), w1 = FloatVector.broadcast(F, w[wo + (i + 1) * ws]);
                int r0 = mo + i * ld + d, r1 = r0 + ld;
                a0 = FloatVector.fromArray(F, m, r0).fma(w0, a0);
                a1 = FloatVector.fromArray(F, m, r0 + L).fma(w0, a1);
                a2 = FloatVector.fromArray(F, m, r0 + 2 * L).fma(w0, a2);
                a3 = FloatVector.fromArray(F, m, r0 + 3 * L).fma(w0, a3);
                b0 = FloatVector.fromArray(F, m, r1).fma(w1, b0);
                b1 = FloatVector.fromArray(F, m, r1 + L).fma(w1, b1);
                b2 = FloatVector.fromArray(F, m, r1 + 2 * L).fma(w1, b2);
                b3 = FloatVector.fromArray(F, m, r1 + 3 * L).fma(w1, b3);
            }
            if (i < n) {
                FloatVector w0 = FloatVector.broadcast(F, w[wo + i * ws]);
                int r0 = mo + i * ld + d;
                a0 = FloatVector.fromArray(F, m, r0).fma(w0, a0);
                a1 = FloatVector.fromArray(F, m, r0 + L).fma(w0, a1);
                a2 = FloatVector.fromArray(F, m, r0 + 2 * L).fma(w0, a2);
                a3 = FloatVector.fromArray(F, m, r0 + 3 * L).fma(w0, a3);
            }
            a0 = a0.add(b0);
            a1 = a1.add(b1);
            a2 = a2.add(b2);
            a3 = a3.add(b3);
            if (accumulate) {
                a0 = a0.add(FloatVector.fromArray(F, out, oo + d));
                a1 = a1.add(FloatVector.fromArray(F, out, oo + d + L));
                a2 = a2.add(FloatVector.fromArray(F, out, oo + d + 2 * L));
                a3 = a3.add(FloatVector.fromArray(F, out, oo + d + 3 * L));
            }
            a0.intoArray(out, oo + d);
            a1.intoArray(out, oo + d + L);
            a2.intoArray(out, oo + d + 2 * L);
            a3.intoArray(out, oo + d + 3 * L);
        }
        for (; d + 2 * L <= headDim; d += 2 * L) {
            FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F);
            FloatVector b0 = FloatVector.zero(F), b1 = FloatVector.zero(F);
            int i = 0;
            for (; i + 1 < n; i += 2) {
                FloatVector w0 = FloatVector.broadcast(F, w[wo + i * ws]), w1 = FloatVector.broadcast(F, w[wo + (i + 1) * ws]);
                int r0 = mo + i * ld + d, r1 = r0 + ld;
                a0 = FloatVector.fromArray(F, m, r0).fma(w0, a0);
                a1 = FloatVector.fromArray(F, m, r0 + L).fma(w0, a1);
                b0 = FloatVector.fromArray(F, m, r1).fma(w1, b0);
                b1 = FloatVector.fromArray(F, m, r1 + L).fma(w1, b1);
            }
            if (i < n) {
                FloatVector w0 = FloatVector.broadcast(F, w[wo + i * ws]);
                a0 = FloatVector.fromArray(F, m, mo + i * ld + d).fma(w0, a0);
                a1 = FloatVector.fromArray(F, m, mo + i * ld + d + L).fma(w0, a1);
            }
            a0 = a0.add(b0);
            a1 = a1.add(b1);
            if (accumulate) {
                a0 = a0.add(FloatVector.fromArray(F, out, oo + d));
                a1 = a1.add(FloatVector.fromArray(F, out, oo + d + L));
            }
            a0.intoArray(out, oo + d);
            a1.intoArray(out, oo + d + L);
        }
        for (; d + L <= headDim; d += L) {
            FloatVector acc = accumulate ? FloatVector.fromArray(F, out, oo + d) : FloatVector.zero(F);
            for (int i = 0; i < n; i++) {
                acc = FloatVector.fromArray(F, m, mo + i * ld + d).fma(FloatVector.broadcast(F, w[wo + i * ws]), acc);
            }
            acc.intoArray(out, oo + d);
        }
        for (; d < headDim; d++) {
            float acc = accumulate ? out[oo + d] : 0f;
            for (int i = 0; i < n; i++) acc += w[wo + i * ws] * m[mo + i * ld + d];
            out[oo + d] = acc;
        }
    }

    /** Softmax backward on one row, times the score scale: {@code dp <- p * (dp - sum(dp * p)) * scale}. */
    private static void scoreGradient(float[] dp, int ro, float[] p, int lim, float scale) {
        int end = roundUp(lim);
        FloatVector dot = FloatVector.zero(F);
        for (int s = 0; s < end; s += L) dot = FloatVector.fromArray(F, dp, ro + s).fma(FloatVector.fromArray(F, p, s), dot);
        FloatVector vdot = FloatVector.broadcast(F, VectorMath.sumLanes(dot));
        for (int s = 0; s < end; s += L) {
            FloatVector ps = FloatVector.fromArray(F, p, s);
            FloatVector.fromArray(F, dp, ro + s).sub(vdot).mul(ps).mul(scale).intoArray(dp, ro + s);
        }
    }

    /**
     * One past the last non-zero probability of the row at {@code po}: the backward reads the
     * causal and padding masks back from the zeros the forward wrote.
     */
    private static int visibleEnd(float[] probs, int po, int keySeq) {
        int lim = keySeq;
        while (lim >= L && FloatVector.fromArray(F, probs, po + lim - L).eq(0f).allTrue()) lim -= L;
        while (lim > 0 && probs[po + lim - 1] == 0f) lim--;
        return lim;
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
