package dev.aspo.tensor.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Row gather/scatter (embedding lookup and its gradient, index-select) and axis permutation
 * (see {@link dev.aspo.tensor.Backend#gatherRows}, {@link dev.aspo.tensor.Backend#permute}).
 * Indices are trusted here; the ops check them and name the bad one.
 */
final class IndexKernels {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();
    /** Floats a thread should move to be worth a fork. */
    private static final int WORK_GRAIN = 1 << 15;
    /** Tile edge of the blocked 2-D transpose: a 32x32 float tile is 4 KiB, two fit in L1. */
    private static final int TILE = 32;

    private IndexKernels() {}

    // ---- gather / scatter-add -----------------------------------------------------------------

    static void gatherRows(float[] x, int[] index, float[] y, int cols) {
        Parallel.forRange(index.length, grain(cols), (i0, i1) -> {
            for (int i = i0; i < i1; i++) System.arraycopy(x, index[i] * cols, y, i * cols, cols);
        });
    }

    /** {@link #gatherRows} from a 16-bit table (a frozen embedding), each row widened to float32 as it is copied. */
    static void gatherRows(HalfStorage x, int[] index, float[] y, int cols) {
        Parallel.forRange(index.length, grain(cols), (i0, i1) -> {
            for (int i = i0; i < i1; i++) x.widen(index[i] * cols, y, i * cols, cols);
        });
    }

    /**
     * {@code gx[index[i]] += gy[i]} for every {@code i} with {@code index[i] != skip}. An index may
     * repeat, so threads split the columns, not the rows: each thread adds every row into its own
     * column range (no two threads write one float, and the order of the additions does not depend
     * on the thread count).
     */
    static void scatterAddRows(float[] gy, int[] index, float[] gx, int cols, int skip) {
        int blocks = (cols + L - 1) / L;
        int grain = Math.max(1, WORK_GRAIN / Math.max(1, index.length * L));
        Parallel.forRange(blocks, grain, (b0, b1) -> {
            int c0 = b0 * L, c1 = Math.min(cols, b1 * L);
            for (int i = 0; i < index.length; i++) {
                if (index[i] == skip) continue;
                int src = i * cols, dst = index[i] * cols;
                int c = c0;
                for (; c + L <= c1; c += L) {
                    FloatVector.fromArray(F, gx, dst + c).add(FloatVector.fromArray(F, gy, src + c)).intoArray(gx, dst + c);
                }
                for (; c < c1; c++) gx[dst + c] += gy[src + c];
            }
        });
    }

    // ---- permute ------------------------------------------------------------------------------

    /**
     * {@code y[j] (+)= x[i]} where {@code y}'s axis {@code a} is {@code x}'s axis {@code perm[a]}.
     *
     * <pre>
     *   trailing axes that stay in place -> copied as contiguous runs of {@code run} floats
     *   ([B,T,H,D] -> [B,H,T,D] moves rows of D)
     *   the last two axes swapped        -> blocked 2-D transposes, one per leading index
     *   anything else                    -> an odometer over y, reading x with strides
     * </pre>
     */
    static void permute(float[] x, int[] shape, int[] perm, float[] y, boolean accumulate) {
        int n = shape.length;
        int total = 1;
        for (int s : shape) total *= s;
        if (total == 0) return;

        // Collapse the tail of axes that stay where they are into one run.
        int keep = n;
        int run = 1;
        while (keep > 0 && perm[keep - 1] == keep - 1) {
            run *= shape[keep - 1];
            keep--;
        }
        if (keep == 0) {                                  // identity
            copyRun(x, 0, y, 0, total, accumulate);
            return;
        }
        if (run == 1 && n >= 2 && perm[n - 1] == n - 2 && perm[n - 2] == n - 1 && leadingIdentity(perm, n - 2)) {
            int rows = shape[n - 2], cols = shape[n - 1];
            transposeLastTwo(x, y, total / (rows * cols), rows, cols, accumulate);
            return;
        }

        // Strides of x for each axis of y, over the first `keep` axes (the run is contiguous).
        int[] xStride = new int[n];
        for (int a = n - 1, s = 1; a >= 0; a--) {
            xStride[a] = s;
            s *= shape[a];
        }
        int axes = keep;
        int[] yShape = new int[axes], stride = new int[axes];
        for (int a = 0; a < axes; a++) {
            yShape[a] = shape[perm[a]];
            stride[a] = xStride[perm[a]];
        }
        int runs = total / run;
        int finalRun = run;
        Parallel.forRange(runs, Math.max(1, WORK_GRAIN / run), (r0, r1) -> {
            int[] idx = new int[axes];
            int rem = r0, xi = 0;                          // multi-index of run r0 in y's shape
            for (int a = axes - 1; a >= 0; a--) {
                idx[a] = rem % yShape[a];
                rem /= yShape[a];
                xi += idx[a] * stride[a];
            }
            for (int r = r0; r < r1; r++) {
                if (finalRun == 1) {
                    y[r] = accumulate ? y[r] + x[xi] : x[xi];
                } else {
                    copyRun(x, xi, y, r * finalRun, finalRun, accumulate);
                }
                for (int a = axes - 1; a >= 0; a--) {       // odometer step
                    xi += stride[a];
                    if (++idx[a] < yShape[a]) break;
                    xi -= stride[a] * yShape[a];
                    idx[a] = 0;
                }
            }
        });
    }

    private static boolean leadingIdentity(int[] perm, int upTo) {
        for (int a = 0; a < upTo; a++) if (perm[a] != a) return false;
        return true;
    }

    /** {@code y[b, c, r] (+)= x[b, r, c]} in TILE x TILE blocks (both sides stay in cache). */
    private static void transposeLastTwo(float[] x, float[] y, int batch, int rows, int cols, boolean accumulate) {
        int rowTiles = (rows + TILE - 1) / TILE;
        Parallel.forRange(batch * rowTiles, Math.max(1, WORK_GRAIN / (TILE * Math.max(1, cols))), (t0, t1) -> {
            for (int t = t0; t < t1; t++) {
                int b = t / rowTiles, r0 = (t % rowTiles) * TILE, r1 = Math.min(rows, r0 + TILE);
                int base = b * rows * cols;
                for (int c0 = 0; c0 < cols; c0 += TILE) {
                    int c1 = Math.min(cols, c0 + TILE);
                    for (int c = c0; c < c1; c++) {
                        int yo = base + c * rows;
                        if (accumulate) {
                            for (int r = r0; r < r1; r++) y[yo + r] += x[base + r * cols + c];
                        } else {
                            for (int r = r0; r < r1; r++) y[yo + r] = x[base + r * cols + c];
                        }
                    }
                }
            }
        });
    }

    private static void copyRun(float[] x, int xo, float[] y, int yo, int n, boolean accumulate) {
        if (!accumulate) {
            System.arraycopy(x, xo, y, yo, n);
            return;
        }
        int i = 0;
        for (; i < F.loopBound(n); i += L) {
            FloatVector.fromArray(F, y, yo + i).add(FloatVector.fromArray(F, x, xo + i)).intoArray(y, yo + i);
        }
        for (; i < n; i++) y[yo + i] += x[xo + i];
    }

    private static int grain(int cols) {
        return Math.max(1, WORK_GRAIN / Math.max(1, cols));
    }
}
