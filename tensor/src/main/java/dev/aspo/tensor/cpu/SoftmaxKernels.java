package dev.aspo.tensor.cpu;

import static dev.aspo.tensor.cpu.VectorMath.F;
import static dev.aspo.tensor.cpu.VectorMath.L;

import dev.aspo.tensor.IndexChecks;
import jdk.incubator.vector.FloatVector;

/**
 * Row-wise softmax, log-softmax and cross-entropy over {@code [rows, cols]} (tokens x vocabulary),
 * forward and backward side by side. Rows are independent: tasks take ranges of rows; within a
 * row every pass is a vector loop. Stable by subtracting the row maximum before exponentiating:
 *
 * <pre>
 *   m = max_c x[c]      s = sum_c exp(x[c] - m)      lse = m + log s
 *   softmax = exp(x - m) / s      log_softmax = (x - m) - log s      CE = lse - x[target]
 * </pre>
 *
 * exp is {@link VectorMath#exp(FloatVector)} in the vector loops and its scalar twin in the
 * tails: the same bits whatever the JIT tier, row length or vector width. The one log per row is
 * {@code StrictMath.log} in double (fdlibm: the same bits on every platform, unlike Math.log,
 * which may use a platform intrinsic).
 */
final class SoftmaxKernels {
    /** Elements per parallel task (a 32000-wide vocabulary row is one task). */
    private static final int GRAIN = 1 << 14;
    /** Floats summed in float lanes before the lanes go into a double. */
    private static final int BLOCK = 1024;

    private SoftmaxKernels() {}

    static void softmax(float[] x, float[] y, int rows, int cols, boolean log) {
        Parallel.forRange(rows, rowGrain(cols), (s, e) -> {
            for (int r = s; r < e; r++) {
                int off = r * cols;
                float max = VectorMath.max(x, off, cols);
                if (log) {
                    float logSum = (float) StrictMath.log(expSum(x, off, cols, max, null));
                    int c = 0;
                    for (; c <= cols - L; c += L) v(x, off + c).sub(max).sub(logSum).intoArray(y, off + c);
                    for (; c < cols; c++) y[off + c] = (x[off + c] - max) - logSum;
                } else {
                    float inv = (float) (1 / expSum(x, off, cols, max, y));
                    int c = 0;
                    for (; c <= cols - L; c += L) v(y, off + c).mul(inv).intoArray(y, off + c);
                    for (; c < cols; c++) y[off + c] *= inv;
                }
            }
        });
    }

    /**
     * From the output y: softmax {@code gx += y * (gy - <gy, y>)}; log-softmax
     * {@code gx += gy - exp(y) * sum(gy)}.
     */
    static void softmaxBackward(float[] y, float[] gy, float[] gx, int rows, int cols, boolean log) {
        Parallel.forRange(rows, rowGrain(cols), (s, e) -> {
            for (int r = s; r < e; r++) {
                int off = r * cols, c = 0;
                if (log) {
                    float total = (float) VectorMath.sum(gy, off, cols);
                    for (; c <= cols - L; c += L) {
                        VectorMath.exp(v(y, off + c)).mul(-total).add(v(gy, off + c)).add(v(gx, off + c)).intoArray(gx, off + c);
                    }
                    for (; c < cols; c++) gx[off + c] = VectorMath.exp(y[off + c]) * -total + gy[off + c] + gx[off + c];
                } else {
                    float dot = (float) VectorMath.dot(gy, off, y, off, cols);
                    for (; c <= cols - L; c += L) {
                        v(gy, off + c).sub(dot).fma(v(y, off + c), v(gx, off + c)).intoArray(gx, off + c);
                    }
                    for (; c < cols; c++) gx[off + c] += y[off + c] * (gy[off + c] - dot);
                }
            }
        });
    }

    /**
     * {@code loss[r] = lse[r] - x[r, target[r]]}; a negative target ignores the row (loss 0, lse 0,
     * no work: prompt tokens are most of a batch).
     */
    static void crossEntropy(float[] logits, int[] target, float[] loss, float[] lse, int rows, int cols) {
        IndexChecks.targets(target, rows, cols);
        Parallel.forRange(rows, rowGrain(cols), (s, e) -> {
            for (int r = s; r < e; r++) {
                int t = target[r], off = r * cols;
                if (t < 0) {
                    loss[r] = 0;
                    lse[r] = 0;
                    continue;
                }
                float max = VectorMath.max(logits, off, cols);
                double logSum = StrictMath.log(expSum(logits, off, cols, max, null));
                lse[r] = (float) (max + logSum);
                loss[r] = (float) (((double) max - logits[off + t]) + logSum);
            }
        });
    }

    /** {@code gx[r, c] += gloss[r] * (exp(x[r, c] - lse[r]) - [c == target[r]])}; ignored rows get nothing. */
    static void crossEntropyBackward(float[] logits, int[] target, float[] lse, float[] gloss, float[] gx,
                                     int rows, int cols) {
        IndexChecks.targets(target, rows, cols);
        Parallel.forRange(rows, rowGrain(cols), (s, e) -> {
            for (int r = s; r < e; r++) {
                int t = target[r], off = r * cols, c = 0;
                if (t < 0) continue;
                float g = gloss[r], shift = lse[r];
                FloatVector gv = FloatVector.broadcast(F, g);
                for (; c <= cols - L; c += L) {
                    VectorMath.exp(v(logits, off + c).sub(shift)).fma(gv, v(gx, off + c)).intoArray(gx, off + c);
                }
                for (; c < cols; c++) gx[off + c] = Math.fma(VectorMath.exp(logits[off + c] - shift), g, gx[off + c]);
                gx[off + t] -= g;
            }
        });
    }

    /**
     * {@code sum_c exp(x[off+c] - max)}, also stored into {@code y[off+c]} when y is not null.
     * Float lanes within blocks of {@link #BLOCK}, doubles across blocks (32000-wide rows).
     */
    private static double expSum(float[] x, int off, int n, float max, float[] y) {
        double total = 0;
        int c = 0;
        while (c <= n - L) {
            int blockEnd = Math.min(n, c + BLOCK);
            FloatVector acc = FloatVector.zero(F);
            for (; c <= blockEnd - L; c += L) {
                FloatVector ev = VectorMath.exp(v(x, off + c).sub(max));
                if (y != null) ev.intoArray(y, off + c);
                acc = acc.add(ev);
            }
            total += VectorMath.sumLanes(acc);
        }
        for (; c < n; c++) {
            float ev = VectorMath.exp(x[off + c] - max);
            if (y != null) y[off + c] = ev;
            total += ev;
        }
        return total;
    }

    private static int rowGrain(int cols) {
        return Math.max(1, GRAIN / Math.max(1, cols));
    }

    private static FloatVector v(float[] a, int i) {
        return FloatVector.fromArray(F, a, i);
    }
}
