package dev.aspo.tensor.cpu;

import static dev.aspo.tensor.cpu.VectorMath.F;
import static dev.aspo.tensor.cpu.VectorMath.L;

import dev.aspo.tensor.IndexChecks;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;

/**
 * Reductions over one axis of a tensor seen as {@code [outer, dim, inner]} (see
 * {@link dev.aspo.tensor.Backend#sum}), and segment sums over token spans.
 *
 * <pre>
 *   inner == 1:  y[o] = sum of the contiguous row x[o, :]        (vector sum per row)
 *   inner  > 1:  y[o, :] = sum_d x[o, d, :]                      (vector adds of rows, column blocks)
 * </pre>
 */
final class ReduceKernels {
    /** Elements per parallel task. */
    private static final int GRAIN = 1 << 15;
    /** Columns per task when summing rows of a [dim, inner] block: y's block stays in L1. */
    private static final int COLUMN_BLOCK = 256;

    private ReduceKernels() {}

    static void sum(float[] x, float[] y, int outer, int dim, int inner) {
        if (inner == 1) {
            Parallel.forRange(outer, Math.max(1, GRAIN / Math.max(1, dim)), (s, e) -> {
                for (int o = s; o < e; o++) y[o] = (float) VectorMath.sum(x, o * dim, dim);
            });
            return;
        }
        // One task per (o, block of columns): disjoint parts of y, each a sum of dim short rows.
        int blocks = (inner + COLUMN_BLOCK - 1) / COLUMN_BLOCK;
        Parallel.forRange(outer * blocks, Math.max(1, GRAIN / Math.max(1, dim * Math.min(inner, COLUMN_BLOCK))), (s, e) -> {
            for (int t = s; t < e; t++) {
                int o = t / blocks, c0 = (t % blocks) * COLUMN_BLOCK, width = Math.min(COLUMN_BLOCK, inner - c0);
                int yo = o * inner + c0;
                Arrays.fill(y, yo, yo + width, 0f);
                for (int d = 0; d < dim; d++) addRow(x, (o * dim + d) * inner + c0, y, yo, width);
            }
        });
    }

    /** {@code y[o,i] = max_d x[o,d,i]}, first index on ties, NaN wins (as torch); argmax as floats. */
    static void max(float[] x, float[] y, float[] idx, int outer, int dim, int inner) {
        if (dim == 0) throw new IllegalArgumentException("max over an axis of size 0");
        Parallel.forRange(outer * inner, Math.max(1, GRAIN / dim), (s, e) -> {
            for (int t = s; t < e; t++) {
                int o = t / inner, i = t % inner, base = o * dim * inner + i;
                float best = x[base];
                int arg = 0;
                for (int d = 1; d < dim && best == best; d++) {
                    float v = x[base + d * inner];
                    if (v > best || v != v) {
                        best = v;
                        arg = d;
                    }
                }
                y[t] = best;
                if (idx != null) idx[t] = arg;
            }
        });
    }

    /** {@code gx[o, idx[o,i], i] += gy[o,i]}: the gradient goes to the argmax only. */
    static void maxBackward(float[] gy, float[] idx, float[] gx, int outer, int dim, int inner) {
        for (int t = 0; t < outer * inner; t++) {
            int o = t / inner, i = t % inner;
            gx[(o * dim + (int) idx[t]) * inner + i] += gy[t];
        }
    }

    /** {@code gx[o,d,i] += gy[o,i]}: each of the outer*dim rows of gx gets its row of gy. */
    static void sumBackward(float[] gy, float[] gx, int outer, int dim, int inner) {
        Parallel.forRange(outer * dim, Math.max(1, GRAIN / Math.max(1, inner)), (s, e) -> {
            for (int r = s; r < e; r++) {
                int o = r / dim;
                if (inner == 1) gx[r] += gy[o];
                else addRow(gy, o * inner, gx, r * inner, inner);
            }
        });
    }

    /**
     * {@code y[s] = sum of x[t] over segment[t] == s}; -1 skips a token. Sequential and in double:
     * n is a batch's token count, and these sums (per-sentence log-ratios) feed a loss directly.
     */
    static void segmentSum(float[] x, int[] segment, float[] y, int n, int segments) {
        IndexChecks.segments(segment, n, segments, "segmentSum");
        double[] acc = new double[segments];
        for (int t = 0; t < n; t++) if (segment[t] >= 0) acc[segment[t]] += x[t];
        for (int s = 0; s < segments; s++) y[s] = (float) acc[s];
    }

    /** {@code gx[t] += gy[segment[t]]} where {@code segment[t] >= 0}. */
    static void segmentSumBackward(float[] gy, int[] segment, float[] gx, int n) {
        IndexChecks.segments(segment, n, gy.length, "segmentSumBackward");
        for (int t = 0; t < n; t++) if (segment[t] >= 0) gx[t] += gy[segment[t]];
    }

    /** {@code y[yo+j] += x[xo+j]} for {@code j < n}. */
    private static void addRow(float[] x, int xo, float[] y, int yo, int n) {
        int j = 0;
        for (; j <= n - L; j += L) {
            FloatVector.fromArray(F, y, yo + j).add(FloatVector.fromArray(F, x, xo + j)).intoArray(y, yo + j);
        }
        for (; j < n; j++) y[yo + j] += x[xo + j];
    }
}
