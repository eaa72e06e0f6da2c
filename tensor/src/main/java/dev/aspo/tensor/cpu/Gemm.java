package dev.aspo.tensor.cpu;

import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Batched matrix multiply {@code C[b] (+)= op(A[b]) @ op(B[b])} (see
 * {@link dev.aspo.tensor.Backend#matmul}), blocked the GotoBLAS/BLIS way.
 *
 * <pre>
 *  for jc (NC cols of C) -> for pc (KC of k): pack B[pc:+KC, jc:+NC] into panels of NR columns
 *                                             (zero-padded, transB undone here)
 *
 *        packed B block  KC x NC           panel q: for p < KC, NR floats (= 4 vectors)
 *        +----+----+----+--                +--------------------------------+
 *        | q0 | q1 | q2 |..                | b[p, j0 .. j0+NR)   p = 0      |
 *        +----+----+----+--                | b[p, j0 .. j0+NR)   p = 1 ...  |
 *
 *     -> for ic (MC rows, one task per block and group of panels, over all cores):
 *        pack A[ic:+MC, pc:+KC] into micro-panels of MR rows (transA undone here)
 *
 *        micro-panel: for p < KC, MR floats  a[i0 .. i0+MR, p]
 *
 *     -> for each panel q (stays in L1), for each micro-panel of A (streams from L2):
 *
 *                     NR = 4 vectors
 *                 b0    b1    b2    b3          one k step: load 4 vectors of B,
 *            a0 [c00] [c01] [c02] [c03]         broadcast MR = 4 scalars of A,
 *            a1 [c10] [c11] [c12] [c13]         16 fused multiply-adds into 16
 *            a2 [c20] [c21] [c22] [c23]         register accumulators
 *            a3 [c30] [c31] [c32] [c33]
 *
 *        then the MR x NR tile is added to (or, on the first k block without
 *        accumulate, stored into) C; edge tiles write only their valid part.
 * </pre>
 *
 * Packing is where the transposes go, so one micro-kernel serves all four flag combinations.
 * Pack buffers are per thread and reused, so a call allocates nothing large. Batches of small
 * matrices run one matrix per task (no forks inside); big matrices split their row blocks (and,
 * when there are few, their column panels) over the cores.
 */
final class Gemm {
    private Gemm() {}

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    /** Micro-tile: MR rows of C by NR = 4 vectors of columns. */
    static final int MR = 4, NR = 4 * L;
    /** Cache blocks: KC deep (an NR-wide B panel of KC rows fits L1), MC rows of A (L2), NC columns of B. */
    static final int KC = Integer.getInteger("aspo.gemm.kc", 256);
    static final int MC = roundUp(Integer.getInteger("aspo.gemm.mc", 128), MR);
    static final int NC = roundUp(Integer.getInteger("aspo.gemm.nc", 1024), NR);
    /** Below this many multiply-adds a matrix runs on one thread (a fork costs microseconds). */
    private static final long SERIAL_MACS = 1L << 18;
    /** A batch of matrices each below this size is split over the batch, one matrix per step. */
    private static final long BATCH_SPLIT_MACS = 1L << 22;

    /** Per-thread reusable buffers: packed A, packed B, one micro-tile. */
    private static final class Buffers {
        float[] a = new float[0], b = new float[0];
        final float[] tile = new float[MR * NR];

        float[] a(int n) {
            if (a.length < n) a = new float[n];
            return a;
        }

        float[] b(int n) {
            if (b.length < n) b = new float[n];
            return b;
        }
    }

    private static final ThreadLocal<Buffers> BUFFERS = ThreadLocal.withInitial(Buffers::new);

    static void matmul(float[] a, int aStride, boolean transA, float[] b, int bStride, boolean transB,
                       float[] c, int batch, int m, int n, int k, boolean accumulate) {
        checkSizes(a.length, aStride, b.length, bStride, c.length, batch, m, n, k);
        if (batch == 0 || m == 0 || n == 0) return;
        if (k == 0) {                                     // empty sum: C = 0 (or unchanged)
            if (!accumulate) Arrays.fill(c, 0, batch * m * n, 0f);
            return;
        }
        long macs = (long) m * n * k;
        if (batch > 1 && macs < BATCH_SPLIT_MACS) {
            // Small matrices: whole matrices per task; enough of them per task to pay for a fork.
            int grain = (int) Math.max(1, SERIAL_MACS / macs);
            Parallel.forRange(batch, grain, (b0, b1) -> {
                for (int bi = b0; bi < b1; bi++) {
                    gemm(a, bi * aStride, transA, b, bi * bStride, transB, c, bi * m * n, m, n, k, accumulate, false);
                }
            });
        } else {
            boolean parallel = macs >= SERIAL_MACS;
            for (int bi = 0; bi < batch; bi++) {
                gemm(a, bi * aStride, transA, b, bi * bStride, transB, c, bi * m * n, m, n, k, accumulate, parallel);
            }
        }
    }

    /** One matrix: C[co..] (+)= op(A[ao..]) @ op(B[bo..]), split over the cores when {@code parallel}. */
    private static void gemm(float[] a, int ao, boolean transA, float[] b, int bo, boolean transB,
                             float[] c, int co, int m, int n, int k, boolean accumulate, boolean parallel) {
        Buffers own = BUFFERS.get();
        int mBlocks = (m + MC - 1) / MC;
        for (int jc = 0; jc < n; jc += NC) {
            int nc = Math.min(NC, n - jc), panels = (nc + NR - 1) / NR;
            // Few row blocks: also split the column panels, so that every core has work.
            int groups = parallel ? Math.min(panels, (2 * Parallel.THREADS + mBlocks - 1) / mBlocks) : 1;
            for (int pc = 0; pc < k; pc += KC) {
                int kc = Math.min(KC, k - pc);
                float[] bp = own.b(panels * kc * NR);
                int jc0 = jc, pc0 = pc;
                Parallel.Range packB = (q0, q1) -> {
                    for (int q = q0; q < q1; q++) packB(b, bo, transB, n, k, pc0, kc, jc0 + q * NR, Math.min(NR, nc - q * NR), bp, q * kc * NR);
                };
                if (parallel) Parallel.forRange(panels, 1, packB);
                else packB.run(0, panels);

                boolean add = accumulate || pc > 0;
                Parallel.Range blocks = (t0, t1) -> {
                    Buffers mine = BUFFERS.get();
                    int packedBlock = -1;
                    for (int t = t0; t < t1; t++) {
                        int blk = t / groups, g = t % groups;
                        int ic = blk * MC, mc = Math.min(MC, m - ic), micro = (mc + MR - 1) / MR;
                        float[] ap = mine.a(micro * kc * MR);
                        if (blk != packedBlock) {                 // consecutive tasks share the block
                            for (int r = 0; r < micro; r++) {
                                packA(a, ao, transA, m, k, ic + r * MR, Math.min(MR, mc - r * MR), pc0, kc, ap, r * kc * MR);
                            }
                            packedBlock = blk;
                        }
                        int q0 = (int) ((long) panels * g / groups), q1 = (int) ((long) panels * (g + 1) / groups);
                        for (int q = q0; q < q1; q++) {
                            int j = jc0 + q * NR, cols = Math.min(NR, n - j);
                            for (int r = 0; r < micro; r++) {
                                int i = ic + r * MR, rows = Math.min(MR, m - i);
                                kernel(ap, r * kc * MR, bp, q * kc * NR, kc, mine.tile);
                                store(mine.tile, c, co + i * n + j, n, rows, cols, add);
                            }
                        }
                    }
                };
                if (parallel) Parallel.forRange(mBlocks * groups, 1, blocks);
                else blocks.run(0, mBlocks * groups);
            }
        }
    }

    /**
     * The micro-kernel: {@code tile[MR x NR] = sum_p a[:, p] b[p, :]} over {@code kc} steps of a
     * packed A micro-panel (MR floats per step) and a packed B panel (NR floats per step).
     */
    private static void kernel(float[] ap, int ai, float[] bp, int bi, int kc, float[] tile) {
        FloatVector c00 = FloatVector.zero(S), c01 = c00, c02 = c00, c03 = c00;
        FloatVector c10 = c00, c11 = c00, c12 = c00, c13 = c00;
        FloatVector c20 = c00, c21 = c00, c22 = c00, c23 = c00;
        FloatVector c30 = c00, c31 = c00, c32 = c00, c33 = c00;
        for (int p = 0; p < kc; p++, ai += MR, bi += NR) {
            FloatVector b0 = FloatVector.fromArray(S, bp, bi), b1 = FloatVector.fromArray(S, bp, bi + L);
            FloatVector b2 = FloatVector.fromArray(S, bp, bi + 2 * L), b3 = FloatVector.fromArray(S, bp, bi + 3 * L);
            FloatVector x = FloatVector.broadcast(S, ap[ai]);
            c00 = x.fma(b0, c00); c01 = x.fma(b1, c01); c02 = x.fma(b2, c02); c03 = x.fma(b3, c03);
            x = FloatVector.broadcast(S, ap[ai + 1]);
            c10 = x.fma(b0, c10); c11 = x.fma(b1, c11); c12 = x.fma(b2, c12); c13 = x.fma(b3, c13);
            x = FloatVector.broadcast(S, ap[ai + 2]);
            c20 = x.fma(b0, c20); c21 = x.fma(b1, c21); c22 = x.fma(b2, c22); c23 = x.fma(b3, c23);
            x = FloatVector.broadcast(S, ap[ai + 3]);
            c30 = x.fma(b0, c30); c31 = x.fma(b1, c31); c32 = x.fma(b2, c32); c33 = x.fma(b3, c33);
        }
        c00.intoArray(tile, 0);      c01.intoArray(tile, L);      c02.intoArray(tile, 2 * L);  c03.intoArray(tile, 3 * L);
        c10.intoArray(tile, 4 * L);  c11.intoArray(tile, 5 * L);  c12.intoArray(tile, 6 * L);  c13.intoArray(tile, 7 * L);
        c20.intoArray(tile, 8 * L);  c21.intoArray(tile, 9 * L);  c22.intoArray(tile, 10 * L); c23.intoArray(tile, 11 * L);
        c30.intoArray(tile, 12 * L); c31.intoArray(tile, 13 * L); c32.intoArray(tile, 14 * L); c33.intoArray(tile, 15 * L);
    }

    /** C[rows x cols at ci, row stride ldc] (+)= tile; a full tile goes by vectors, an edge tile by scalars. */
    private static void store(float[] tile, float[] c, int ci, int ldc, int rows, int cols, boolean add) {
        if (rows == MR && cols == NR) {
            for (int r = 0; r < MR; r++, ci += ldc) {
                for (int v = 0; v < NR; v += L) {
                    FloatVector t = FloatVector.fromArray(S, tile, r * NR + v);
                    if (add) t = t.add(FloatVector.fromArray(S, c, ci + v));
                    t.intoArray(c, ci + v);
                }
            }
            return;
        }
        for (int r = 0; r < rows; r++, ci += ldc) {
            for (int j = 0; j < cols; j++) c[ci + j] = add ? c[ci + j] + tile[r * NR + j] : tile[r * NR + j];
        }
    }

    /**
     * Packs {@code op(B)[pc:+kc, j:+cols]} into {@code kc} rows of NR floats at {@code dst[di..]},
     * zero-padding columns {@code cols..NR}. op(B) is {@code [k, n]}; B is stored {@code [n, k]} when transposed.
     */
    private static void packB(float[] b, int bo, boolean transB, int n, int k, int pc, int kc, int j, int cols,
                              float[] dst, int di) {
        if (!transB) {
            int src = bo + pc * n + j;
            if (cols == NR) {
                for (int p = 0; p < kc; p++, src += n, di += NR) {
                    for (int v = 0; v < NR; v += L) FloatVector.fromArray(S, b, src + v).intoArray(dst, di + v);
                }
            } else {
                for (int p = 0; p < kc; p++, src += n, di += NR) {
                    System.arraycopy(b, src, dst, di, cols);
                    Arrays.fill(dst, di + cols, di + NR, 0f);
                }
            }
        } else {
            // B[j + jj, pc + p] -> dst[p * NR + jj]: read along B's rows, write down the panel's columns.
            for (int jj = 0; jj < cols; jj++) {
                int src = bo + (j + jj) * k + pc;
                for (int p = 0; p < kc; p++) dst[di + p * NR + jj] = b[src + p];
            }
            if (cols < NR) {
                for (int p = 0; p < kc; p++) Arrays.fill(dst, di + p * NR + cols, di + (p + 1) * NR, 0f);
            }
        }
    }

    /**
     * Packs {@code op(A)[i:+rows, pc:+kc]} into {@code kc} groups of MR floats at {@code dst[di..]},
     * zero-padding rows {@code rows..MR}. op(A) is {@code [m, k]}; A is stored {@code [k, m]} when transposed.
     */
    private static void packA(float[] a, int ao, boolean transA, int m, int k, int i, int rows, int pc, int kc,
                              float[] dst, int di) {
        if (rows < MR) Arrays.fill(dst, di, di + kc * MR, 0f);
        if (!transA) {
            for (int r = 0; r < rows; r++) {
                int src = ao + (i + r) * k + pc;
                for (int p = 0; p < kc; p++) dst[di + p * MR + r] = a[src + p];
            }
        } else {
            int src = ao + pc * m + i;
            for (int p = 0; p < kc; p++, src += m) {
                for (int r = 0; r < rows; r++) dst[di + p * MR + r] = a[src + r];
            }
        }
    }

    /** One clear message instead of an index error deep in a kernel. */
    private static void checkSizes(int aLen, int aStride, int bLen, int bStride, int cLen,
                                   int batch, int m, int n, int k) {
        if (batch < 0 || m < 0 || n < 0 || k < 0 || aStride < 0 || bStride < 0) {
            throw new IllegalArgumentException("matmul: negative size: batch=" + batch + " m=" + m + " n=" + n
                    + " k=" + k + " aStride=" + aStride + " bStride=" + bStride);
        }
        if (batch == 0) return;
        long needA = (long) (batch - 1) * aStride + (long) m * k, needB = (long) (batch - 1) * bStride + (long) k * n;
        long needC = (long) batch * m * n;
        if (needA > aLen || needB > bLen || needC > cLen) {
            throw new IllegalArgumentException("matmul: buffer too small for batch=" + batch + " m=" + m + " n=" + n
                    + " k=" + k + " (aStride=" + aStride + ", bStride=" + bStride + "): a needs " + needA + " has " + aLen
                    + ", b needs " + needB + " has " + bLen + ", c needs " + needC + " has " + cLen);
        }
    }

    private static int roundUp(int x, int to) {
        return Math.max(to, (x + to - 1) / to * to);
    }
}
