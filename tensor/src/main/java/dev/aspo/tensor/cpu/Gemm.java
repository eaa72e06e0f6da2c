package dev.aspo.tensor.cpu;

import java.util.Arrays;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntConsumer;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Batched matrix multiply {@code C[b] (+)= op(A[b]) @ op(B[b])} (see
 * {@link dev.aspo.tensor.Backend#matmul}), blocked the GotoBLAS/BLIS way.
 *
 * <pre>
 *  split C into a few parts per core, by columns (or rows), each a serial product:
 *
 *  for jc (NC cols) -> for pc (KC of k): pack B[pc:+KC, jc:+NC] into panels of NR columns
 *                                        (zero-padded, transB undone here)
 *
 *        packed B block  KC x NC           panel q: for p < KC, NR floats (= 4 vectors)
 *        +----+----+----+--                +--------------------------------+
 *        | q0 | q1 | q2 |..                | b[p, j0 .. j0+NR)   p = 0      |
 *        +----+----+----+--                | b[p, j0 .. j0+NR)   p = 1 ...  |
 *
 *     -> for ic (MC rows): micro-panels of MR rows x KC of op(A), packed k-major, or
 *                          (few B panels) read in place in either layout (the kernel
 *                          takes a row and a k stride), a ragged last one copied
 *
 *     -> for each panel q (stays in L1), for each micro-panel of A (from L2):
 *
 *                     NR = 4 vectors
 *                 b0    b1    b2    b3          one k step: load 4 vectors of B,
 *            a0 [c00] [c01] [c02] [c03]         broadcast MR = 4 scalars of A,
 *            a1 [c10] [c11] [c12] [c13]         16 fused multiply-adds into 16
 *            a2 [c20] [c21] [c22] [c23]         register accumulators
 *            a3 [c30] [c31] [c32] [c33]
 *
 *        then the MR x NR tile (via a scratch tile in L1) is added to C, or stored on
 *        the first k block without accumulate; an edge tile writes only its valid part.
 * </pre>
 *
 * The picture shows the AVX-512 tile; {@link GemmShape} picks the tile for the machine's register
 * file (6 rows x 2 vectors with 16 registers, 8 x 3 with 32 narrow ones). Against four or more B
 * panels the MC x KC block of A is packed k-major as well (MR adjacent floats per k step).
 * B's packing undoes transB and A's strides absorb transA, so one micro-kernel serves all four
 * flag combinations. A ragged last panel is only as wide as the vectors it needs (kernels for
 * fewer vectors). Buffers are per thread and reused, so a call allocates nothing large. Special
 * shapes:
 * a batch of small matrices runs whole matrices per core (no fork inside one); fewer than
 * {@code DIRECT_M} rows read B in place; a few rows against a transposed B are dot products;
 * fewer columns than a vector are computed as {@code C^T = op(B)^T op(A)^T}.
 *
 * <p>Either operand may be a frozen weight held in 16 bits ({@link HalfStorage}, bfloat16 or
 * float16): it is widened to float32 where it is copied anyway (packing B's panels and A's
 * micro-panels, or gathering the rows of a dot product), and never read in place, so the
 * micro-kernels see float32 only. Every decision (paths, blocks, splits) is the one the float32
 * product takes, and a packed panel holds the same values as the in-place read it replaces, so the
 * result is bit for bit the float32 product of the widened weight.
 */
final class Gemm {
    private Gemm() {}

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int L = S.length();
    private static final VectorMask<Float> LANE0 = VectorMask.fromLong(S, 1);
    /** Micro-tile: MR rows of C by NV vectors (NR floats) of columns, chosen for the machine by {@link GemmShape}. */
    static final int MR = GemmShape.MR, NV = GemmShape.NV, NR = NV * L;
    /** Cache blocks: KC deep (an NR-wide B panel of KC rows fits L1), MC rows of A (L2), NC columns of B. */
    static final int KC = GemmShape.KC;
    static final int MC = roundUp(GemmShape.MC, MR);
    static final int NC = roundUp(GemmShape.NC, NR);
    /**
     * Up to this many rows against a transposed B, C is computed as dot products: transposing B
     * into panels costs about as much as DOT_M rows of multiply-adds. The dot products end in
     * horizontal sums, so they need k of at least DOT_K to pay for those (up to MR rows always).
     */
    static final int DOT_M = 64, DOT_K = 16 * L;
    /** Up to this many rows, B (not transposed) is read in place rather than packed. */
    private static final int DIRECT_M = 2 * MR;
    /** From this many B panels per block on, A's block is packed (the copy is shared by the panels). */
    static final int PACK_A_PANELS = Integer.getInteger("aspo.gemm.packa", 4);
    /** Below this many multiply-adds a matrix runs on one thread (handing a part to another thread costs about a microsecond). */
    private static final long SERIAL_MACS = 1L << 18;
    /** A batch of matrices each below this size is split over the batch, one matrix per step. */
    private static final long BATCH_SPLIT_MACS = 1L << 22;
    /**
     * Work is cut into this many tasks per core ({@code -Daspo.gemm.tasks}). More tasks let a core
     * that the OS pauses delay less, but each part packs its own A and B: on a quiet machine one
     * task per core made the 2-thread training step 4-8% faster under AVX2 than two (level under
     * AVX-512, and level on square products; docs/PERFORMANCE.md).
     */
    private static final int TASKS_PER_THREAD = Integer.getInteger("aspo.gemm.tasks", 1);
    /**
     * With several parts, C with more rows than columns is cut into row parts first, so that the
     * operand packed again by every part is B, the smaller one ({@code -Daspo.gemm.rowsfirst=false}:
     * column stripes first whatever the shape, as before; docs/PERFORMANCE.md).
     */
    static final boolean ROWS_FIRST = Boolean.parseBoolean(System.getProperty("aspo.gemm.rowsfirst", "true"));
    /**
     * Where the packed B block starts in its buffer: 12 floats (48 bytes) past the array's first
     * element. A float[]'s elements start 16 bytes into the object (compressed class pointers),
     * and G1 places an array of half a region or more at the start of a region (the buffer is
     * that large, {@link #B_MIN}), so B's panel rows (NR floats, 64 bytes on AVX2 and AVX-512) start on
     * a cache line. At offset 0 every k step's B load crossed a line (measured, one thread, CPU
     * time: AVX2 1024^3 about +6%, AVX-512 up to +30%). {@code -Daspo.gemm.boff} overrides it.
     */
    static final int BOFF = Math.max(0, Integer.getInteger("aspo.gemm.boff", 12));
    /**
     * Smallest B buffer, in floats: half a G1 region, so that G1 allocates it at a region's start
     * (see {@link #BOFF}), and at least 512 KB. The launcher's 1 MB regions make that 512 KB; a
     * JVM left to choose (JMH's forks, a program that embeds the library) takes regions of 1 to
     * 32 MB by heap size (4 MB with a 6 GB heap), and a smaller buffer then lands anywhere in a
     * region, a different place in every run.
     */
    static final int B_MIN = Math.max(1 << 17, GemmShape.G1_REGION_BYTES / 2 / Float.BYTES);

    /** Per-thread reusable buffers: a ragged A micro-panel (or gathered rows), packed B, one tile, widened rows of a 16-bit B. */
    private static final class Buffers {
        float[] a = new float[0], b = new float[0], w = new float[0];
        final float[] scratch = new float[MR * NR];

        float[] a(int n) {
            if (a.length < n) a = new float[n];
            return a;
        }

        float[] w(int n) {
            if (w.length < n) w = new float[n];
            return w;
        }

        float[] b(int n) {
            if (b.length < n) b = new float[Math.max(n, B_MIN)];
            return b;
        }
    }

    private static final ThreadLocal<Buffers> BUFFERS = ThreadLocal.withInitial(Buffers::new);

    static void matmul(float[] a, int aStride, boolean transA, float[] b, int bStride, boolean transB,
                       float[] c, int batch, int m, int n, int k, boolean accumulate) {
        matmul(a, null, aStride, transA, b, null, bStride, transB, c, batch, m, n, k, accumulate);
    }

    /**
     * {@link #matmul} where A is {@code a} or, when {@code ha} is not null, the 16-bit {@code ha}
     * ({@code a} then unused); likewise B. The result is bit for bit that of the float32 product of
     * the widened values.
     */
    static void matmul(float[] a, HalfStorage ha, int aStride, boolean transA, float[] b, HalfStorage hb, int bStride,
                       boolean transB, float[] c, int batch, int m, int n, int k, boolean accumulate) {
        checkSizes(ha != null ? ha.size() : a.length, aStride, hb != null ? hb.size() : b.length, bStride, c.length,
                batch, m, n, k);
        if (batch == 0 || m == 0 || n == 0) return;
        if (k == 0) {                                     // empty sum: C = 0 (or unchanged)
            if (!accumulate) Arrays.fill(c, 0, batch * m * n, 0f);
            return;
        }
        long macs = (long) m * n * k;
        if (batch > 1 && macs < BATCH_SPLIT_MACS) {
            // Small matrices: whole matrices per task, enough of them per task to pay for handing it over.
            int per = (int) Math.max(Math.max(1, SERIAL_MACS / macs), (batch + TASKS_PER_THREAD * Parallel.THREADS - 1)
                    / (TASKS_PER_THREAD * Parallel.THREADS));
            int tasks = (batch + per - 1) / per;
            eachTask(tasks, t -> {
                for (int bi = t * per, end = Math.min(batch, bi + per); bi < end; bi++) {
                    gemm(a, ha, bi * aStride, transA, b, hb, bi * bStride, transB, c, bi * m * n, m, n, k, accumulate, false);
                }
            });
        } else {
            boolean parallel = macs >= SERIAL_MACS;
            for (int bi = 0; bi < batch; bi++) {
                gemm(a, ha, bi * aStride, transA, b, hb, bi * bStride, transB, c, bi * m * n, m, n, k, accumulate, parallel);
            }
        }
    }

    /**
     * Runs {@code task(0 .. tasks-1)} on all cores, each core taking the next task as it finishes
     * one: a core that the OS pauses (the machine is shared) holds up one task, not a fixed share.
     */
    private static void eachTask(int tasks, IntConsumer task) {
        if (tasks == 1) {
            task.accept(0);
            return;
        }
        AtomicInteger next = new AtomicInteger();
        Parallel.forRange(Math.min(Parallel.THREADS, tasks), 1, (w0, w1) -> {
            for (int t; (t = next.getAndIncrement()) < tasks; ) task.accept(t);
        });
    }

    /** One matrix: C[co..] (+)= op(A[ao..]) @ op(B[bo..]), split over the cores when {@code parallel}. */
    private static void gemm(float[] a, HalfStorage ha, int ao, boolean transA, float[] b, HalfStorage hb, int bo, boolean transB,
                             float[] c, int co, int m, int n, int k, boolean accumulate, boolean parallel) {
        int lda = transA ? m : k, ldb = transB ? k : n;
        if (n < L && m > n) {
            // Fewer columns than a vector (a matrix-vector product): C^T = op(B)^T op(A)^T, so the
            // skinny side becomes the rows and C is written through its transpose.
            split(b, hb, bo, ldb, !transB, a, ha, ao, lda, !transA, c, co, 1, n, n, m, k, accumulate, parallel);
        } else {
            split(a, ha, ao, lda, transA, b, hb, bo, ldb, transB, c, co, n, 1, m, n, k, accumulate, parallel);
        }
    }

    /**
     * Cuts C into a few parts per core: a column stripe per core where there are enough columns
     * (a part then packs only its own B panels), then rows. Each part is a whole serial product,
     * handed out by {@link #eachTask}.
     */
    private static void split(float[] a, HalfStorage ha, int ao, int lda, boolean transA, float[] b, HalfStorage hb, int bo,
                              int ldb, boolean transB, float[] c, int co, int rs, int cs, int m, int n, int k,
                              boolean accumulate, boolean parallel) {
        long macs = (long) m * n * k;
        // One thread: one part. Every row part packs its columns of B again, which only pays for
        // itself when another core can take the part.
        int parts = !parallel || Parallel.THREADS == 1 ? 1
                : (int) Math.min(TASKS_PER_THREAD * Parallel.THREADS, Math.max(1, macs / SERIAL_MACS));
        int colUnit = n >= 2 * NR ? NR : 2 * L, colUnits = (n + colUnit - 1) / colUnit;
        // parts at least 2 vectors wide and 4 micro-tiles high. A column stripe packs all of A's
        // rows again and a row part all of B's columns again: cut the side whose copy is smaller
        // to repeat (rows when C has more rows than columns: B, k x n, is then the smaller copy).
        int tc, tr;
        if (n >= m || !ROWS_FIRST) {
            tc = Math.min(Math.min(parts, Parallel.THREADS), colUnits);
            tr = Math.max(1, Math.min((parts + tc - 1) / tc, m / (4 * MR)));
        } else {
            tr = Math.max(1, Math.min(Math.min(parts, Parallel.THREADS), m / (4 * MR)));
            tc = Math.max(1, Math.min((parts + tr - 1) / tr, colUnits));
        }
        if (tc * tr == 1) {
            part(a, ha, ao, lda, transA, b, hb, bo, ldb, transB, c, co, rs, cs, m, n, k, accumulate);
            return;
        }
        int rowUnits = (m + MR - 1) / MR;
        eachTask(tr * tc, t -> {
            int r = t / tc, q = t % tc;
            int i0 = Math.min(m, rowUnits * r / tr * MR), i1 = Math.min(m, rowUnits * (r + 1) / tr * MR);
            int j0 = Math.min(n, colUnits * q / tc * colUnit), j1 = Math.min(n, colUnits * (q + 1) / tc * colUnit);
            if (i0 >= i1 || j0 >= j1) return;
            part(a, ha, ao + (transA ? i0 : i0 * lda), lda, transA, b, hb, bo + (transB ? j0 * ldb : j0), ldb, transB,
                    c, co + i0 * rs + j0 * cs, rs, cs, i1 - i0, j1 - j0, k, accumulate);
        });
    }

    /**
     * One serial product, C(i, j) at {@code c[co + i*rs + j*cs]}, op(A)(i, p) at
     * {@code a[ao + i*lda + p]} ({@code a[ao + p*lda + i]} when transposed), op(B) likewise.
     * A few rows against a transposed B are plain dot products ({@link #dots}); the rest is
     * {@link #blocked}.
     */
    private static void part(float[] a, HalfStorage ha, int ao, int lda, boolean transA, float[] b, HalfStorage hb, int bo,
                             int ldb, boolean transB, float[] c, int co, int rs, int cs, int m, int n, int k, boolean accumulate) {
        if (transB && (m <= MR || m <= DOT_M && k >= DOT_K)) {
            dots(a, ha, ao, lda, transA, b, hb, bo, ldb, c, co, rs, cs, m, n, k, accumulate);
        } else {
            blocked(a, ha, ao, lda, transA, b, hb, bo, ldb, transB, c, co, rs, cs, m, n, k, accumulate);
        }
    }

    /** The packed, blocked product of the class comment, on one thread. */
    private static void blocked(float[] a, HalfStorage ha, int ao, int lda, boolean transA, float[] b, HalfStorage hb, int bo,
                                int ldb, boolean transB, float[] c, int co, int rs, int cs, int m, int n, int k,
                                boolean accumulate) {
        Buffers buf = BUFFERS.get();
        // A few rows use each B panel only a few times: read B in place instead of packing it
        // (only a ragged last panel is packed, for its zero padding). A 16-bit B is always packed
        // (widened): the kernels do the same multiply-adds on a packed panel as in place.
        boolean direct = !transB && m <= DIRECT_M && hb == null;
        for (int jc = 0; jc < n; jc += NC) {
            int nc = Math.min(NC, n - jc), panels = (nc + NR - 1) / NR;
            for (int pc = 0; pc < k; pc += KC) {
                int kc = Math.min(KC, k - pc);
                float[] bp = buf.b(BOFF + panels * kc * NR);
                if (!transB && !direct) {
                    if (hb != null) packBRows(hb, bo, ldb, pc, kc, jc, nc, bp, BOFF);
                    else packBRows(b, bo, ldb, pc, kc, jc, nc, bp, BOFF);
                } else {
                    for (int q = 0; q < panels; q++) {
                        int cols = Math.min(NR, nc - q * NR);
                        if (hb != null) packB(hb, bo, ldb, transB, pc, kc, jc + q * NR, cols, bp, BOFF + q * kc * NR, buf.w(ROWS * kc));
                        else if (!direct || cols < NR) packB(b, bo, ldb, transB, pc, kc, jc + q * NR, cols, bp, BOFF + q * kc * NR);
                    }
                }
                boolean add = accumulate || pc > 0;
                for (int ic = 0; ic < m; ic += MC) {
                    int mc = Math.min(MC, m - ic), micro = (mc + MR - 1) / MR;
                    // Against several B panels, the MC x KC block of A is packed k-major (each k step
                    // reads MR adjacent floats; in place, rows a multiple of 4 KB apart, as at n =
                    // 1024, fall into one L1 set). Otherwise A is read in place (either layout) and
                    // only a ragged last micro-panel is packed. A 16-bit A is always packed (widened).
                    boolean packed = panels >= PACK_A_PANELS || ha != null;
                    float[] ap = buf.a(packed ? micro * MR * kc : kc * MR);
                    if (packed && ha != null) packAPanels(ha, ao, lda, transA, ic, mc, pc, kc, ap, buf.w(kc));
                    else if (packed) packAPanels(a, ao, lda, transA, ic, mc, pc, kc, ap);
                    else if (mc % MR != 0) packA(a, ao, lda, transA, ic + mc / MR * MR, mc % MR, pc, kc, ap, 0);
                    for (int q = 0; q < panels; q++) {
                        int j = jc + q * NR, cols = Math.min(NR, n - j);
                        boolean inPlace = direct && cols == NR;
                        float[] bs = inPlace ? b : bp;
                        int bi = inPlace ? bo + pc * ldb + j : BOFF + q * kc * NR, step = inPlace ? ldb : width(cols);
                        for (int r = 0; r < micro; r++) {
                            int i = ic + r * MR, rows = Math.min(MR, m - i);
                            boolean whole = rows == MR && !packed;
                            float[] as = whole ? a : ap;
                            int ai = packed ? r * MR * kc : !whole ? 0 : transA ? ao + pc * lda + i : ao + i * lda + pc;
                            int ars = packed ? 1 : !whole ? kc : transA ? 1 : lda, aps = packed ? MR : whole && transA ? lda : 1;
                            tile(as, ai, ars, aps, bs, bi, step, kc, c, co + i * rs + j * cs, rs, cs, rows, cols, add, buf.scratch);
                        }
                    }
                }
            }
        }
    }

    /** Panel width for {@code cols} columns: whole vectors, at most NR. */
    private static int width(int cols) {
        return Math.min(NR, (cols + L - 1) / L * L);
    }

    /**
     * One MR x cols tile of C (+)= A micro-panel @ B panel ({@code bStep} floats per k step). The
     * kernels leave the tile in {@code tmp} (L1) and {@link #store} adds it to C: storing straight
     * from the registers into C made the whole product half as fast on JDK 17 (measured).
     */
    private static void tile(float[] ap, int ai, int ars, int aps, float[] bp, int bi, int bStep, int kc,
                             float[] c, int ci, int rs, int cs, int rows, int cols, boolean add, float[] tmp) {
        int nv = (cols + L - 1) / L;
        boolean packed = ars == 1 && aps == MR && bStep == NR;   // both operands packed, whole panel
        if (MR == 6) {                                    // 16 registers (AVX2)
            if (nv == 2 && packed && cs == 1 && rows == MR && cols == NR) {   // 3-5% faster than via tmp (AVX2)
                packed6x2c(ap, ai, bp, bi, kc, c, ci, rs, add);
                return;
            }
            if (nv == 2 && packed) packed6x2(ap, ai, bp, bi, kc, tmp);
            else if (nv == 2 && aps == 1 && bStep == NR) rows6x2(ap, ai, ars, bp, bi, kc, tmp);
            else if (nv == 2) kernel6x2(ap, ai, ars, aps, bp, bi, bStep, kc, tmp);
            else kernel6x1(ap, ai, ars, aps, bp, bi, bStep, kc, tmp);
        } else if (MR == 8) {                             // 32 registers of 128 or 256 bits
            if (nv == 3 && packed) packed8x3(ap, ai, bp, bi, kc, tmp);
            else if (nv == 3) kernel8x3(ap, ai, ars, aps, bp, bi, bStep, kc, tmp);
            else if (nv == 2) kernel8x2(ap, ai, ars, aps, bp, bi, bStep, kc, tmp);
            else kernel8x1(ap, ai, ars, aps, bp, bi, bStep, kc, tmp);
        } else {                                          // 32 registers of 512 bits
            switch (nv) {
                case 4:
                    if (packed) packed4x4(ap, ai, bp, bi, kc, tmp);
                    else kernel4(ap, ai, ars, aps, bp, bi, bStep, kc, tmp, 0);
                    break;
                case 3:
                    kernel2(ap, ai, ars, aps, bp, bi, bStep, kc, tmp, 0);
                    kernel1(ap, ai, ars, aps, bp, bi + 2 * L, bStep, kc, tmp, 2 * L);
                    break;
                case 2:
                    kernel2(ap, ai, ars, aps, bp, bi, bStep, kc, tmp, 0);
                    break;
                default:
                    kernel1(ap, ai, ars, aps, bp, bi, bStep, kc, tmp, 0);
            }
        }
        store(tmp, c, ci, rs, cs, rows, cols, add);
    }

    /**
     * C[rows x cols at ci] (+)= tmp (rows NR apart): by whole vectors along C's rows when they are
     * contiguous (lanes past the last whole vector one by one), element by element when C is
     * written through its transpose.
     */
    private static void store(float[] tmp, float[] c, int ci, int rs, int cs, int rows, int cols, boolean add) {
        if (cs == 1) {
            int whole = cols / L * L;
            for (int r = 0; r < rows; r++, ci += rs) {
                for (int v = 0; v < whole; v += L) {
                    FloatVector t = FloatVector.fromArray(S, tmp, r * NR + v);
                    if (add) t = t.add(FloatVector.fromArray(S, c, ci + v));
                    t.intoArray(c, ci + v);
                }
                for (int jj = whole; jj < cols; jj++) c[ci + jj] = add ? c[ci + jj] + tmp[r * NR + jj] : tmp[r * NR + jj];
            }
            return;
        }
        for (int r = 0; r < rows; r++) {
            for (int jj = 0; jj < cols; jj++) {
                int x = ci + r * rs + jj * cs;
                c[x] = add ? c[x] + tmp[r * NR + jj] : tmp[r * NR + jj];
            }
        }
    }

    /**
     * The micro-kernel: {@code t[MR x 4 vectors] = sum_p a[:, p] b[p, :]} over {@code kc} steps.
     * A(r, p) is {@code ap[ai + r*ars + p*aps]} (a row-major A: ars = lda, aps = 1; a transposed
     * one: ars = 1, aps = lda), B's rows are {@code bStep} apart, the tile's rows NR apart.
     */
    private static void kernel4(float[] ap, int ai, int ars, int aps, float[] bp, int bi, int bStep, int kc, float[] t, int ti) {
        FloatVector c00 = FloatVector.zero(S), c01 = c00, c02 = c00, c03 = c00;
        FloatVector c10 = c00, c11 = c00, c12 = c00, c13 = c00;
        FloatVector c20 = c00, c21 = c00, c22 = c00, c23 = c00;
        FloatVector c30 = c00, c31 = c00, c32 = c00, c33 = c00;
        int r2 = 2 * ars, r3 = 3 * ars;
        for (int p = 0; p < kc; p++, ai += aps, bi += bStep) {
            FloatVector b0 = FloatVector.fromArray(S, bp, bi), b1 = FloatVector.fromArray(S, bp, bi + L);
            FloatVector b2 = FloatVector.fromArray(S, bp, bi + 2 * L), b3 = FloatVector.fromArray(S, bp, bi + 3 * L);
            FloatVector x = FloatVector.broadcast(S, ap[ai]);
            c00 = x.fma(b0, c00); c01 = x.fma(b1, c01); c02 = x.fma(b2, c02); c03 = x.fma(b3, c03);
            x = FloatVector.broadcast(S, ap[ai + ars]);
            c10 = x.fma(b0, c10); c11 = x.fma(b1, c11); c12 = x.fma(b2, c12); c13 = x.fma(b3, c13);
            x = FloatVector.broadcast(S, ap[ai + r2]);
            c20 = x.fma(b0, c20); c21 = x.fma(b1, c21); c22 = x.fma(b2, c22); c23 = x.fma(b3, c23);
            x = FloatVector.broadcast(S, ap[ai + r3]);
            c30 = x.fma(b0, c30); c31 = x.fma(b1, c31); c32 = x.fma(b2, c32); c33 = x.fma(b3, c33);
        }
        c00.intoArray(t, ti);          c01.intoArray(t, ti + L);      c02.intoArray(t, ti + 2 * L);  c03.intoArray(t, ti + 3 * L);
        c10.intoArray(t, ti + NR);     c11.intoArray(t, ti + 5 * L);  c12.intoArray(t, ti + 6 * L);  c13.intoArray(t, ti + 7 * L);
        c20.intoArray(t, ti + 2 * NR); c21.intoArray(t, ti + 9 * L);  c22.intoArray(t, ti + 10 * L); c23.intoArray(t, ti + 11 * L);
        c30.intoArray(t, ti + 3 * NR); c31.intoArray(t, ti + 13 * L); c32.intoArray(t, ti + 14 * L); c33.intoArray(t, ti + 15 * L);
    }

    /** {@link #kernel4} on packed A and B (see {@link #packed6x2}). */
    private static void packed4x4(float[] ap, int ai, float[] bp, int bi, int kc, float[] t) {
        FloatVector c00 = FloatVector.zero(S), c01 = c00, c02 = c00, c03 = c00;
        FloatVector c10 = c00, c11 = c00, c12 = c00, c13 = c00;
        FloatVector c20 = c00, c21 = c00, c22 = c00, c23 = c00;
        FloatVector c30 = c00, c31 = c00, c32 = c00, c33 = c00;
        for (int a = ai, b = bi, end = ai + kc * 4; a < end; a += 4, b += NR) {
            FloatVector b0 = FloatVector.fromArray(S, bp, b), b1 = FloatVector.fromArray(S, bp, b + L);
            FloatVector b2 = FloatVector.fromArray(S, bp, b + 2 * L), b3 = FloatVector.fromArray(S, bp, b + 3 * L);
            FloatVector x = FloatVector.broadcast(S, ap[a]);
            c00 = x.fma(b0, c00); c01 = x.fma(b1, c01); c02 = x.fma(b2, c02); c03 = x.fma(b3, c03);
            x = FloatVector.broadcast(S, ap[a + 1]);
            c10 = x.fma(b0, c10); c11 = x.fma(b1, c11); c12 = x.fma(b2, c12); c13 = x.fma(b3, c13);
            x = FloatVector.broadcast(S, ap[a + 2]);
            c20 = x.fma(b0, c20); c21 = x.fma(b1, c21); c22 = x.fma(b2, c22); c23 = x.fma(b3, c23);
            x = FloatVector.broadcast(S, ap[a + 3]);
            c30 = x.fma(b0, c30); c31 = x.fma(b1, c31); c32 = x.fma(b2, c32); c33 = x.fma(b3, c33);
        }
        c00.intoArray(t, 0);      c01.intoArray(t, L);      c02.intoArray(t, 2 * L);  c03.intoArray(t, 3 * L);
        c10.intoArray(t, NR);     c11.intoArray(t, 5 * L);  c12.intoArray(t, 6 * L);  c13.intoArray(t, 7 * L);
        c20.intoArray(t, 2 * NR); c21.intoArray(t, 9 * L);  c22.intoArray(t, 10 * L); c23.intoArray(t, 11 * L);
        c30.intoArray(t, 3 * NR); c31.intoArray(t, 13 * L); c32.intoArray(t, 14 * L); c33.intoArray(t, 15 * L);
    }

    /** {@link #kernel4} for a panel two vectors wide. */
    private static void kernel2(float[] ap, int ai, int ars, int aps, float[] bp, int bi, int bStep, int kc, float[] t, int ti) {
        FloatVector c00 = FloatVector.zero(S), c01 = c00, c10 = c00, c11 = c00;
        FloatVector c20 = c00, c21 = c00, c30 = c00, c31 = c00;
        int r2 = 2 * ars, r3 = 3 * ars;
        for (int p = 0; p < kc; p++, ai += aps, bi += bStep) {
            FloatVector b0 = FloatVector.fromArray(S, bp, bi), b1 = FloatVector.fromArray(S, bp, bi + L);
            FloatVector x = FloatVector.broadcast(S, ap[ai]);
            c00 = x.fma(b0, c00); c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(S, ap[ai + ars]);
            c10 = x.fma(b0, c10); c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(S, ap[ai + r2]);
            c20 = x.fma(b0, c20); c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(S, ap[ai + r3]);
            c30 = x.fma(b0, c30); c31 = x.fma(b1, c31);
        }
        c00.intoArray(t, ti);          c01.intoArray(t, ti + L);
        c10.intoArray(t, ti + NR);     c11.intoArray(t, ti + NR + L);
        c20.intoArray(t, ti + 2 * NR); c21.intoArray(t, ti + 2 * NR + L);
        c30.intoArray(t, ti + 3 * NR); c31.intoArray(t, ti + 3 * NR + L);
    }

    /** {@link #kernel4} for a panel one vector wide. */
    private static void kernel1(float[] ap, int ai, int ars, int aps, float[] bp, int bi, int bStep, int kc, float[] t, int ti) {
        FloatVector c0 = FloatVector.zero(S), c1 = c0, c2 = c0, c3 = c0;
        int r2 = 2 * ars, r3 = 3 * ars;
        for (int p = 0; p < kc; p++, ai += aps, bi += bStep) {
            FloatVector b0 = FloatVector.fromArray(S, bp, bi);
            c0 = FloatVector.broadcast(S, ap[ai]).fma(b0, c0);
            c1 = FloatVector.broadcast(S, ap[ai + ars]).fma(b0, c1);
            c2 = FloatVector.broadcast(S, ap[ai + r2]).fma(b0, c2);
            c3 = FloatVector.broadcast(S, ap[ai + r3]).fma(b0, c3);
        }
        c0.intoArray(t, ti); c1.intoArray(t, ti + NR); c2.intoArray(t, ti + 2 * NR); c3.intoArray(t, ti + 3 * NR);
    }

    /**
     * The 16-register micro-kernel (BLIS's Haswell shape): 6 rows x 2 vectors, 12 accumulators,
     * 2 loads of B and 6 broadcasts of A per 12 fused multiply-adds. Arguments as {@link #kernel4}.
     */
    private static void kernel6x2(float[] ap, int ai, int ars, int aps, float[] bp, int bi, int bStep, int kc, float[] t) {
        FloatVector c00 = FloatVector.zero(S), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
        FloatVector c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
        int r2 = 2 * ars, r3 = 3 * ars, r4 = 4 * ars, r5 = 5 * ars;
        for (int p = 0; p < kc; p++, ai += aps, bi += bStep) {
            FloatVector b0 = FloatVector.fromArray(S, bp, bi), b1 = FloatVector.fromArray(S, bp, bi + L);
            FloatVector x = FloatVector.broadcast(S, ap[ai]);
            c00 = x.fma(b0, c00); c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(S, ap[ai + ars]);
            c10 = x.fma(b0, c10); c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(S, ap[ai + r2]);
            c20 = x.fma(b0, c20); c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(S, ap[ai + r3]);
            c30 = x.fma(b0, c30); c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(S, ap[ai + r4]);
            c40 = x.fma(b0, c40); c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(S, ap[ai + r5]);
            c50 = x.fma(b0, c50); c51 = x.fma(b1, c51);
        }
        c00.intoArray(t, 0);      c01.intoArray(t, L);
        c10.intoArray(t, NR);     c11.intoArray(t, NR + L);
        c20.intoArray(t, 2 * NR); c21.intoArray(t, 2 * NR + L);
        c30.intoArray(t, 3 * NR); c31.intoArray(t, 3 * NR + L);
        c40.intoArray(t, 4 * NR); c41.intoArray(t, 4 * NR + L);
        c50.intoArray(t, 5 * NR); c51.intoArray(t, 5 * NR + L);
    }

    /**
     * {@link #kernel6x2} on packed A and B: both indices step by constants (measured on AVX2, one
     * thread, n = 512: 60-65 GFLOP/s with A in place, 74-80 packed with indices p * 6 and p * NR,
     * 84 with the indices themselves as the loop's variables; unrolling the k loop by hand was
     * slower). B's index is the loop's own: C2 removes the bound checks of the variable it counts
     * with, and B's two vector loads had two checks per k step where A's six broadcasts have two
     * (a 4x3 tile, 12 accumulators + 3 B vectors + 1 broadcast, spilled: 59-62 GFLOP/s against
     * 80-90; JDK 17, UseAVX=2).
     */
    private static void packed6x2(float[] ap, int ai, float[] bp, int bi, int kc, float[] t) {
        FloatVector c00 = FloatVector.zero(S), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
        FloatVector c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
        for (int b = bi, a = ai, end = bi + kc * NR; b < end; b += NR, a += 6) {
            FloatVector b0 = FloatVector.fromArray(S, bp, b), b1 = FloatVector.fromArray(S, bp, b + L);
            FloatVector x = FloatVector.broadcast(S, ap[a]);
            c00 = x.fma(b0, c00); c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(S, ap[a + 1]);
            c10 = x.fma(b0, c10); c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(S, ap[a + 2]);
            c20 = x.fma(b0, c20); c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(S, ap[a + 3]);
            c30 = x.fma(b0, c30); c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(S, ap[a + 4]);
            c40 = x.fma(b0, c40); c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(S, ap[a + 5]);
            c50 = x.fma(b0, c50); c51 = x.fma(b1, c51);
        }
        c00.intoArray(t, 0);      c01.intoArray(t, L);
        c10.intoArray(t, NR);     c11.intoArray(t, NR + L);
        c20.intoArray(t, 2 * NR); c21.intoArray(t, 2 * NR + L);
        c30.intoArray(t, 3 * NR); c31.intoArray(t, 3 * NR + L);
        c40.intoArray(t, 4 * NR); c41.intoArray(t, 4 * NR + L);
        c50.intoArray(t, 5 * NR); c51.intoArray(t, 5 * NR + L);
    }

    /** {@link #packed6x2} adding (or storing) the whole tile straight into C's rows, {@code rs} apart. */
    private static void packed6x2c(float[] ap, int ai, float[] bp, int bi, int kc, float[] c, int ci, int rs, boolean add) {
        FloatVector c00 = FloatVector.zero(S), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
        FloatVector c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
        for (int b = bi, a = ai, end = bi + kc * NR; b < end; b += NR, a += 6) {
            FloatVector b0 = FloatVector.fromArray(S, bp, b), b1 = FloatVector.fromArray(S, bp, b + L);
            FloatVector x = FloatVector.broadcast(S, ap[a]);
            c00 = x.fma(b0, c00); c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(S, ap[a + 1]);
            c10 = x.fma(b0, c10); c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(S, ap[a + 2]);
            c20 = x.fma(b0, c20); c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(S, ap[a + 3]);
            c30 = x.fma(b0, c30); c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(S, ap[a + 4]);
            c40 = x.fma(b0, c40); c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(S, ap[a + 5]);
            c50 = x.fma(b0, c50); c51 = x.fma(b1, c51);
        }
        if (add) {
            c00 = c00.add(FloatVector.fromArray(S, c, ci)); c01 = c01.add(FloatVector.fromArray(S, c, ci + L));
            c10 = c10.add(FloatVector.fromArray(S, c, ci + rs)); c11 = c11.add(FloatVector.fromArray(S, c, ci + rs + L));
            c20 = c20.add(FloatVector.fromArray(S, c, ci + 2 * rs)); c21 = c21.add(FloatVector.fromArray(S, c, ci + 2 * rs + L));
            c30 = c30.add(FloatVector.fromArray(S, c, ci + 3 * rs)); c31 = c31.add(FloatVector.fromArray(S, c, ci + 3 * rs + L));
            c40 = c40.add(FloatVector.fromArray(S, c, ci + 4 * rs)); c41 = c41.add(FloatVector.fromArray(S, c, ci + 4 * rs + L));
            c50 = c50.add(FloatVector.fromArray(S, c, ci + 5 * rs)); c51 = c51.add(FloatVector.fromArray(S, c, ci + 5 * rs + L));
        }
        c00.intoArray(c, ci); c01.intoArray(c, ci + L);
        c10.intoArray(c, ci + rs); c11.intoArray(c, ci + rs + L);
        c20.intoArray(c, ci + 2 * rs); c21.intoArray(c, ci + 2 * rs + L);
        c30.intoArray(c, ci + 3 * rs); c31.intoArray(c, ci + 3 * rs + L);
        c40.intoArray(c, ci + 4 * rs); c41.intoArray(c, ci + 4 * rs + L);
        c50.intoArray(c, ci + 5 * rs); c51.intoArray(c, ci + 5 * rs + L);
    }


    /** {@link #kernel6x2} on A's rows in place ({@code ars} apart) and packed B. */
    private static void rows6x2(float[] ap, int ai, int ars, float[] bp, int bi, int kc, float[] t) {
        FloatVector c00 = FloatVector.zero(S), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
        FloatVector c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
        int a1 = ai + ars, a2 = ai + 2 * ars, a3 = ai + 3 * ars, a4 = ai + 4 * ars, a5 = ai + 5 * ars;
        for (int p = 0; p < kc; p++) {
            int b = bi + p * NR;
            FloatVector b0 = FloatVector.fromArray(S, bp, b), b1 = FloatVector.fromArray(S, bp, b + L);
            FloatVector x = FloatVector.broadcast(S, ap[ai + p]);
            c00 = x.fma(b0, c00); c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(S, ap[a1 + p]);
            c10 = x.fma(b0, c10); c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(S, ap[a2 + p]);
            c20 = x.fma(b0, c20); c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(S, ap[a3 + p]);
            c30 = x.fma(b0, c30); c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(S, ap[a4 + p]);
            c40 = x.fma(b0, c40); c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(S, ap[a5 + p]);
            c50 = x.fma(b0, c50); c51 = x.fma(b1, c51);
        }
        c00.intoArray(t, 0);      c01.intoArray(t, L);
        c10.intoArray(t, NR);     c11.intoArray(t, NR + L);
        c20.intoArray(t, 2 * NR); c21.intoArray(t, 2 * NR + L);
        c30.intoArray(t, 3 * NR); c31.intoArray(t, 3 * NR + L);
        c40.intoArray(t, 4 * NR); c41.intoArray(t, 4 * NR + L);
        c50.intoArray(t, 5 * NR); c51.intoArray(t, 5 * NR + L);
    }

    /** {@link #kernel6x2} for a panel one vector wide. */
    private static void kernel6x1(float[] ap, int ai, int ars, int aps, float[] bp, int bi, int bStep, int kc, float[] t) {
        FloatVector c0 = FloatVector.zero(S), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0;
        int r2 = 2 * ars, r3 = 3 * ars, r4 = 4 * ars, r5 = 5 * ars;
        for (int p = 0; p < kc; p++, ai += aps, bi += bStep) {
            FloatVector b0 = FloatVector.fromArray(S, bp, bi);
            c0 = FloatVector.broadcast(S, ap[ai]).fma(b0, c0);
            c1 = FloatVector.broadcast(S, ap[ai + ars]).fma(b0, c1);
            c2 = FloatVector.broadcast(S, ap[ai + r2]).fma(b0, c2);
            c3 = FloatVector.broadcast(S, ap[ai + r3]).fma(b0, c3);
            c4 = FloatVector.broadcast(S, ap[ai + r4]).fma(b0, c4);
            c5 = FloatVector.broadcast(S, ap[ai + r5]).fma(b0, c5);
        }
        c0.intoArray(t, 0); c1.intoArray(t, NR); c2.intoArray(t, 2 * NR);
        c3.intoArray(t, 3 * NR); c4.intoArray(t, 4 * NR); c5.intoArray(t, 5 * NR);
    }

    /**
     * The 32-register micro-kernel for narrow vectors (BLIS's ARMv8 NEON shape, 8 x 12 floats):
     * 8 rows x 3 vectors, 24 accumulators, 3 loads of B and 8 broadcasts of A per 24 fused
     * multiply-adds. Arguments as {@link #kernel4}.
     */
    private static void kernel8x3(float[] ap, int ai, int ars, int aps, float[] bp, int bi, int bStep, int kc, float[] t) {
        FloatVector c00 = FloatVector.zero(S), c01 = c00, c02 = c00, c10 = c00, c11 = c00, c12 = c00;
        FloatVector c20 = c00, c21 = c00, c22 = c00, c30 = c00, c31 = c00, c32 = c00;
        FloatVector c40 = c00, c41 = c00, c42 = c00, c50 = c00, c51 = c00, c52 = c00;
        FloatVector c60 = c00, c61 = c00, c62 = c00, c70 = c00, c71 = c00, c72 = c00;
        int r2 = 2 * ars, r3 = 3 * ars, r4 = 4 * ars, r5 = 5 * ars, r6 = 6 * ars, r7 = 7 * ars;
        for (int p = 0; p < kc; p++, ai += aps, bi += bStep) {
            FloatVector b0 = FloatVector.fromArray(S, bp, bi), b1 = FloatVector.fromArray(S, bp, bi + L);
            FloatVector b2 = FloatVector.fromArray(S, bp, bi + 2 * L);
            FloatVector x = FloatVector.broadcast(S, ap[ai]);
            c00 = x.fma(b0, c00); c01 = x.fma(b1, c01); c02 = x.fma(b2, c02);
            x = FloatVector.broadcast(S, ap[ai + ars]);
            c10 = x.fma(b0, c10); c11 = x.fma(b1, c11); c12 = x.fma(b2, c12);
            x = FloatVector.broadcast(S, ap[ai + r2]);
            c20 = x.fma(b0, c20); c21 = x.fma(b1, c21); c22 = x.fma(b2, c22);
            x = FloatVector.broadcast(S, ap[ai + r3]);
            c30 = x.fma(b0, c30); c31 = x.fma(b1, c31); c32 = x.fma(b2, c32);
            x = FloatVector.broadcast(S, ap[ai + r4]);
            c40 = x.fma(b0, c40); c41 = x.fma(b1, c41); c42 = x.fma(b2, c42);
            x = FloatVector.broadcast(S, ap[ai + r5]);
            c50 = x.fma(b0, c50); c51 = x.fma(b1, c51); c52 = x.fma(b2, c52);
            x = FloatVector.broadcast(S, ap[ai + r6]);
            c60 = x.fma(b0, c60); c61 = x.fma(b1, c61); c62 = x.fma(b2, c62);
            x = FloatVector.broadcast(S, ap[ai + r7]);
            c70 = x.fma(b0, c70); c71 = x.fma(b1, c71); c72 = x.fma(b2, c72);
        }
        c00.intoArray(t, 0);      c01.intoArray(t, L);          c02.intoArray(t, 2 * L);
        c10.intoArray(t, NR);     c11.intoArray(t, NR + L);     c12.intoArray(t, NR + 2 * L);
        c20.intoArray(t, 2 * NR); c21.intoArray(t, 2 * NR + L); c22.intoArray(t, 2 * NR + 2 * L);
        c30.intoArray(t, 3 * NR); c31.intoArray(t, 3 * NR + L); c32.intoArray(t, 3 * NR + 2 * L);
        c40.intoArray(t, 4 * NR); c41.intoArray(t, 4 * NR + L); c42.intoArray(t, 4 * NR + 2 * L);
        c50.intoArray(t, 5 * NR); c51.intoArray(t, 5 * NR + L); c52.intoArray(t, 5 * NR + 2 * L);
        c60.intoArray(t, 6 * NR); c61.intoArray(t, 6 * NR + L); c62.intoArray(t, 6 * NR + 2 * L);
        c70.intoArray(t, 7 * NR); c71.intoArray(t, 7 * NR + L); c72.intoArray(t, 7 * NR + 2 * L);
    }

    /** {@link #kernel8x3} on packed A and B (see {@link #packed6x2}). */
    private static void packed8x3(float[] ap, int ai, float[] bp, int bi, int kc, float[] t) {
        FloatVector c00 = FloatVector.zero(S), c01 = c00, c02 = c00, c10 = c00, c11 = c00, c12 = c00;
        FloatVector c20 = c00, c21 = c00, c22 = c00, c30 = c00, c31 = c00, c32 = c00;
        FloatVector c40 = c00, c41 = c00, c42 = c00, c50 = c00, c51 = c00, c52 = c00;
        FloatVector c60 = c00, c61 = c00, c62 = c00, c70 = c00, c71 = c00, c72 = c00;
        for (int a = ai, b = bi, end = ai + kc * 8; a < end; a += 8, b += NR) {
            FloatVector b0 = FloatVector.fromArray(S, bp, b), b1 = FloatVector.fromArray(S, bp, b + L);
            FloatVector b2 = FloatVector.fromArray(S, bp, b + 2 * L);
            FloatVector x = FloatVector.broadcast(S, ap[a]);
            c00 = x.fma(b0, c00); c01 = x.fma(b1, c01); c02 = x.fma(b2, c02);
            x = FloatVector.broadcast(S, ap[a + 1]);
            c10 = x.fma(b0, c10); c11 = x.fma(b1, c11); c12 = x.fma(b2, c12);
            x = FloatVector.broadcast(S, ap[a + 2]);
            c20 = x.fma(b0, c20); c21 = x.fma(b1, c21); c22 = x.fma(b2, c22);
            x = FloatVector.broadcast(S, ap[a + 3]);
            c30 = x.fma(b0, c30); c31 = x.fma(b1, c31); c32 = x.fma(b2, c32);
            x = FloatVector.broadcast(S, ap[a + 4]);
            c40 = x.fma(b0, c40); c41 = x.fma(b1, c41); c42 = x.fma(b2, c42);
            x = FloatVector.broadcast(S, ap[a + 5]);
            c50 = x.fma(b0, c50); c51 = x.fma(b1, c51); c52 = x.fma(b2, c52);
            x = FloatVector.broadcast(S, ap[a + 6]);
            c60 = x.fma(b0, c60); c61 = x.fma(b1, c61); c62 = x.fma(b2, c62);
            x = FloatVector.broadcast(S, ap[a + 7]);
            c70 = x.fma(b0, c70); c71 = x.fma(b1, c71); c72 = x.fma(b2, c72);
        }
        c00.intoArray(t, 0);      c01.intoArray(t, L);          c02.intoArray(t, 2 * L);
        c10.intoArray(t, NR);     c11.intoArray(t, NR + L);     c12.intoArray(t, NR + 2 * L);
        c20.intoArray(t, 2 * NR); c21.intoArray(t, 2 * NR + L); c22.intoArray(t, 2 * NR + 2 * L);
        c30.intoArray(t, 3 * NR); c31.intoArray(t, 3 * NR + L); c32.intoArray(t, 3 * NR + 2 * L);
        c40.intoArray(t, 4 * NR); c41.intoArray(t, 4 * NR + L); c42.intoArray(t, 4 * NR + 2 * L);
        c50.intoArray(t, 5 * NR); c51.intoArray(t, 5 * NR + L); c52.intoArray(t, 5 * NR + 2 * L);
        c60.intoArray(t, 6 * NR); c61.intoArray(t, 6 * NR + L); c62.intoArray(t, 6 * NR + 2 * L);
        c70.intoArray(t, 7 * NR); c71.intoArray(t, 7 * NR + L); c72.intoArray(t, 7 * NR + 2 * L);
    }

    /** {@link #kernel8x3} for a panel two vectors wide. */
    private static void kernel8x2(float[] ap, int ai, int ars, int aps, float[] bp, int bi, int bStep, int kc, float[] t) {
        FloatVector c00 = FloatVector.zero(S), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
        FloatVector c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
        int r2 = 2 * ars, r3 = 3 * ars, r4 = 4 * ars, r5 = 5 * ars, r6 = 6 * ars, r7 = 7 * ars;
        for (int p = 0; p < kc; p++, ai += aps, bi += bStep) {
            FloatVector b0 = FloatVector.fromArray(S, bp, bi), b1 = FloatVector.fromArray(S, bp, bi + L);
            FloatVector x = FloatVector.broadcast(S, ap[ai]);
            c00 = x.fma(b0, c00); c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(S, ap[ai + ars]);
            c10 = x.fma(b0, c10); c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(S, ap[ai + r2]);
            c20 = x.fma(b0, c20); c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(S, ap[ai + r3]);
            c30 = x.fma(b0, c30); c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(S, ap[ai + r4]);
            c40 = x.fma(b0, c40); c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(S, ap[ai + r5]);
            c50 = x.fma(b0, c50); c51 = x.fma(b1, c51);
            x = FloatVector.broadcast(S, ap[ai + r6]);
            c60 = x.fma(b0, c60); c61 = x.fma(b1, c61);
            x = FloatVector.broadcast(S, ap[ai + r7]);
            c70 = x.fma(b0, c70); c71 = x.fma(b1, c71);
        }
        c00.intoArray(t, 0);      c01.intoArray(t, L);
        c10.intoArray(t, NR);     c11.intoArray(t, NR + L);
        c20.intoArray(t, 2 * NR); c21.intoArray(t, 2 * NR + L);
        c30.intoArray(t, 3 * NR); c31.intoArray(t, 3 * NR + L);
        c40.intoArray(t, 4 * NR); c41.intoArray(t, 4 * NR + L);
        c50.intoArray(t, 5 * NR); c51.intoArray(t, 5 * NR + L);
        c60.intoArray(t, 6 * NR); c61.intoArray(t, 6 * NR + L);
        c70.intoArray(t, 7 * NR); c71.intoArray(t, 7 * NR + L);
    }

    /** {@link #kernel8x3} for a panel one vector wide. */
    private static void kernel8x1(float[] ap, int ai, int ars, int aps, float[] bp, int bi, int bStep, int kc, float[] t) {
        FloatVector c0 = FloatVector.zero(S), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0;
        int r2 = 2 * ars, r3 = 3 * ars, r4 = 4 * ars, r5 = 5 * ars, r6 = 6 * ars, r7 = 7 * ars;
        for (int p = 0; p < kc; p++, ai += aps, bi += bStep) {
            FloatVector b0 = FloatVector.fromArray(S, bp, bi);
            c0 = FloatVector.broadcast(S, ap[ai]).fma(b0, c0);
            c1 = FloatVector.broadcast(S, ap[ai + ars]).fma(b0, c1);
            c2 = FloatVector.broadcast(S, ap[ai + r2]).fma(b0, c2);
            c3 = FloatVector.broadcast(S, ap[ai + r3]).fma(b0, c3);
            c4 = FloatVector.broadcast(S, ap[ai + r4]).fma(b0, c4);
            c5 = FloatVector.broadcast(S, ap[ai + r5]).fma(b0, c5);
            c6 = FloatVector.broadcast(S, ap[ai + r6]).fma(b0, c6);
            c7 = FloatVector.broadcast(S, ap[ai + r7]).fma(b0, c7);
        }
        c0.intoArray(t, 0); c1.intoArray(t, NR); c2.intoArray(t, 2 * NR); c3.intoArray(t, 3 * NR);
        c4.intoArray(t, 4 * NR); c5.intoArray(t, 5 * NR); c6.intoArray(t, 6 * NR); c7.intoArray(t, 7 * NR);
    }

    /**
     * A few rows of op(A) against B stored {@code [n, k]}: every C(i, j) is a dot product of two
     * contiguous rows, so B streams through once and nothing large is packed (matrix-vector and
     * decode-step shapes). A 16-bit A is gathered widened like a transposed one; a 16-bit B is
     * widened four rows at a time, just before they are used.
     */
    private static void dots(float[] a, HalfStorage ha, int ao, int lda, boolean transA, float[] b, HalfStorage hb, int bo,
                             int ldb, float[] c, int co, int rs, int cs, int m, int n, int k, boolean accumulate) {
        float[] rows = a;
        int r0 = ao, ldr = lda;
        if (transA || ha != null) {                       // gather op(A)'s m short rows
            rows = BUFFERS.get().a(m * k);
            r0 = 0;
            ldr = k;
            if (ha == null) {
                for (int p = 0; p < k; p++) {
                    for (int i = 0; i < m; i++) rows[i * k + p] = a[ao + p * lda + i];
                }
            } else if (!transA) {
                for (int i = 0; i < m; i++) ha.widen(ao + i * lda, rows, i * k, k);
            } else {
                for (int p = 0; p < k; p++) {
                    for (int i = 0; i < m; i++) rows[i * k + p] = ha.get(ao + p * lda + i);
                }
            }
        }
        float[] wide = hb == null ? null : BUFFERS.get().w(4 * k);
        int j = 0;
        for (; j + 4 <= n; j += 4) {                      // 4 rows of B stay in L1 while A's rows pass
            float[] y = b;
            int y0 = bo + j * ldb, ldy = ldb;
            if (hb != null) {
                for (int t = 0; t < 4; t++) hb.widen(bo + (j + t) * ldb, wide, t * k, k);
                y = wide;
                y0 = 0;
                ldy = k;
            }
            int i = 0;
            for (; i + 2 <= m; i += 2) {
                dot2x4(rows, r0 + i * ldr, ldr, y, y0, ldy, k, c, co + i * rs + j * cs, rs, cs, accumulate);
            }
            if (i < m) dot4(rows, r0 + i * ldr, y, y0, ldy, k, c, co + i * rs + j * cs, cs, accumulate);
        }
        for (; j < n; j++) {
            float[] y = b;
            int y0 = bo + j * ldb;
            if (hb != null) {
                hb.widen(y0, wide, 0, k);
                y = wide;
                y0 = 0;
            }
            for (int i = 0; i < m; i++) {
                int x = co + i * rs + j * cs;
                float s = dot(rows, r0 + i * ldr, y, y0, k);
                c[x] = accumulate ? c[x] + s : s;
            }
        }
    }

    /**
     * {@code c[ci + r*rs + t*cs] (+)= dot(x row r, y row t)} for two rows of x ({@code ldx} apart)
     * and four rows of y: 8 accumulators, 6 loads per 8 multiply-adds.
     */
    private static void dot2x4(float[] x, int xi, int ldx, float[] y, int yi, int ldy, int k,
                               float[] c, int ci, int rs, int cs, boolean add) {
        FloatVector s00 = FloatVector.zero(S), s01 = s00, s02 = s00, s03 = s00;
        FloatVector s10 = s00, s11 = s00, s12 = s00, s13 = s00;
        int p = 0;
        for (int end = S.loopBound(k); p < end; p += L) {
            FloatVector x0 = FloatVector.fromArray(S, x, xi + p), x1 = FloatVector.fromArray(S, x, xi + ldx + p);
            FloatVector y0 = FloatVector.fromArray(S, y, yi + p), y1 = FloatVector.fromArray(S, y, yi + ldy + p);
            FloatVector y2 = FloatVector.fromArray(S, y, yi + 2 * ldy + p), y3 = FloatVector.fromArray(S, y, yi + 3 * ldy + p);
            s00 = x0.fma(y0, s00); s01 = x0.fma(y1, s01); s02 = x0.fma(y2, s02); s03 = x0.fma(y3, s03);
            s10 = x1.fma(y0, s10); s11 = x1.fma(y1, s11); s12 = x1.fma(y2, s12); s13 = x1.fma(y3, s13);
        }
        for (; p < k; p++) {                              // the k % L tail, one lane at a time
            float x0 = x[xi + p], x1 = x[xi + ldx + p];
            float y0 = y[yi + p], y1 = y[yi + ldy + p], y2 = y[yi + 2 * ldy + p], y3 = y[yi + 3 * ldy + p];
            s00 = s00.add(x0 * y0, LANE0); s01 = s01.add(x0 * y1, LANE0); s02 = s02.add(x0 * y2, LANE0); s03 = s03.add(x0 * y3, LANE0);
            s10 = s10.add(x1 * y0, LANE0); s11 = s11.add(x1 * y1, LANE0); s12 = s12.add(x1 * y2, LANE0); s13 = s13.add(x1 * y3, LANE0);
        }
        int c1 = ci + rs;
        c[ci] = sum(s00, c, ci, add);
        c[ci + cs] = sum(s01, c, ci + cs, add);
        c[ci + 2 * cs] = sum(s02, c, ci + 2 * cs, add);
        c[ci + 3 * cs] = sum(s03, c, ci + 3 * cs, add);
        c[c1] = sum(s10, c, c1, add);
        c[c1 + cs] = sum(s11, c, c1 + cs, add);
        c[c1 + 2 * cs] = sum(s12, c, c1 + 2 * cs, add);
        c[c1 + 3 * cs] = sum(s13, c, c1 + 3 * cs, add);
    }

    /** The lanes of {@code v} summed, plus {@code c[i]} when adding. */
    private static float sum(FloatVector v, float[] c, int i, boolean add) {
        float s = VectorMath.sumLanes(v);
        return add ? c[i] + s : s;
    }

    /** c[ci + t*cs] (+)= dot(x[xi..+k], y[yi + t*ldy ..+k]) for four rows t of y. */
    private static void dot4(float[] x, int xi, float[] y, int yi, int ldy, int k, float[] c, int ci, int cs,
                             boolean add) {
        FloatVector s0 = FloatVector.zero(S), s1 = s0, s2 = s0, s3 = s0;
        int p = 0;
        for (int end = S.loopBound(k); p < end; p += L) {
            FloatVector v = FloatVector.fromArray(S, x, xi + p);
            s0 = v.fma(FloatVector.fromArray(S, y, yi + p), s0);
            s1 = v.fma(FloatVector.fromArray(S, y, yi + ldy + p), s1);
            s2 = v.fma(FloatVector.fromArray(S, y, yi + 2 * ldy + p), s2);
            s3 = v.fma(FloatVector.fromArray(S, y, yi + 3 * ldy + p), s3);
        }
        float d0 = VectorMath.sumLanes(s0), d1 = VectorMath.sumLanes(s1);
        float d2 = VectorMath.sumLanes(s2), d3 = VectorMath.sumLanes(s3);
        for (; p < k; p++) {
            float v = x[xi + p];
            d0 += v * y[yi + p]; d1 += v * y[yi + ldy + p]; d2 += v * y[yi + 2 * ldy + p]; d3 += v * y[yi + 3 * ldy + p];
        }
        c[ci] = add ? c[ci] + d0 : d0;
        c[ci + cs] = add ? c[ci + cs] + d1 : d1;
        c[ci + 2 * cs] = add ? c[ci + 2 * cs] + d2 : d2;
        c[ci + 3 * cs] = add ? c[ci + 3 * cs] + d3 : d3;
    }

    private static float dot(float[] x, int xi, float[] y, int yi, int k) {
        FloatVector s = FloatVector.zero(S);
        int p = 0;
        for (int end = S.loopBound(k); p < end; p += L) {
            s = FloatVector.fromArray(S, x, xi + p).fma(FloatVector.fromArray(S, y, yi + p), s);
        }
        float d = VectorMath.sumLanes(s);
        for (; p < k; p++) d += x[xi + p] * y[yi + p];
        return d;
    }

    /**
     * Packs {@code op(B)[pc:+kc, j:+cols]} into {@code kc} rows of {@link #width}(cols) floats at
     * {@code dst[di..]}, zero-padding the columns past {@code cols}. op(B)(p, j) is
     * {@code b[bo + p*ldb + j]}, or {@code b[bo + j*ldb + p]} when transposed.
     */
    private static void packB(float[] b, int bo, int ldb, boolean transB, int pc, int kc, int j, int cols,
                              float[] dst, int di) {
        int w = width(cols);
        if (!transB) {
            int src = bo + pc * ldb + j;
            for (int p = 0; p < kc; p++, src += ldb, di += w) {
                if (cols == w) {
                    for (int v = 0; v < w; v += L) FloatVector.fromArray(S, b, src + v).intoArray(dst, di + v);
                } else {
                    System.arraycopy(b, src, dst, di, cols);
                    Arrays.fill(dst, di + cols, di + w, 0f);
                }
            }
            return;
        }
        // B[j + jj, pc + p] -> dst[p * w + jj]: read B's rows in order (the prefetcher follows),
        // write down the panel's columns (the KC x NR panel stays in L1).
        for (int jj = 0; jj < cols; jj++) {
            int src = bo + (j + jj) * ldb + pc;
            for (int p = 0; p < kc; p++) dst[di + p * w + jj] = b[src + p];
        }
        if (cols < w) {
            for (int p = 0; p < kc; p++) Arrays.fill(dst, di + p * w + cols, di + (p + 1) * w, 0f);
        }
    }

    /** Rows of a transposed 16-bit B widened together before they are transposed into a panel. */
    private static final int ROWS = 8;

    /**
     * {@link #packB} of a 16-bit B, widened as it is copied. A transposed B's rows are widened
     * {@link #ROWS} at a time into {@code rows} ({@code ROWS * kc} floats) by whole vectors, then
     * written into the panel k step by k step, {@code ROWS} adjacent floats each.
     */
    private static void packB(HalfStorage b, int bo, int ldb, boolean transB, int pc, int kc, int j, int cols,
                              float[] dst, int di, float[] rows) {
        int w = width(cols);
        if (!transB) {
            int src = bo + pc * ldb + j;
            for (int p = 0; p < kc; p++, src += ldb, di += w) {
                b.widen(src, dst, di, cols);
                if (cols < w) Arrays.fill(dst, di + cols, di + w, 0f);
            }
            return;
        }
        for (int j0 = 0; j0 < cols; j0 += ROWS) {
            int h = Math.min(ROWS, cols - j0);
            for (int r = 0; r < h; r++) b.widen(bo + (j + j0 + r) * ldb + pc, rows, r * kc, kc);
            for (int p = 0, d = di + j0; p < kc; p++, d += w) {
                for (int r = 0; r < h; r++) dst[d + r] = rows[r * kc + p];
            }
        }
        if (cols < w) {
            for (int p = 0; p < kc; p++) Arrays.fill(dst, di + p * w + cols, di + (p + 1) * w, 0f);
        }
    }

    /**
     * Packs {@code op(A)[i:+rows, pc:+kc]} as MR rows of {@code kc} floats at {@code dst[di..]},
     * zero rows past {@code rows}. op(A)(i, p) is {@code a[ao + i*lda + p]}, or
     * {@code a[ao + p*lda + i]} when transposed.
     */
    private static void packA(float[] a, int ao, int lda, boolean transA, int i, int rows, int pc, int kc,
                              float[] dst, int di) {
        if (rows < MR) Arrays.fill(dst, di + rows * kc, di + MR * kc, 0f);
        if (!transA) {
            for (int r = 0; r < rows; r++) System.arraycopy(a, ao + (i + r) * lda + pc, dst, di + r * kc, kc);
        } else {
            int src = ao + pc * lda + i;
            for (int p = 0; p < kc; p++, src += lda) {
                for (int r = 0; r < rows; r++) dst[di + r * kc + p] = a[src + r];
            }
        }
    }

    /**
     * {@link #packB} of all panels of the block {@code B[pc:+kc, jc:+nc]} (B not transposed) into
     * {@code dst} from {@code d0} on, B's
     * rows read from start to end: panel by panel, each k step would open a new row of B (at n =
     * 1024 a new 4 KB page), which the hardware prefetcher does not follow.
     */
    private static void packBRows(float[] b, int bo, int ldb, int pc, int kc, int jc, int nc, float[] dst, int d0) {
        for (int p = 0; p < kc; p++) {
            int src = bo + (pc + p) * ldb + jc;
            for (int j = 0; j < nc; j += NR) {
                int cols = Math.min(NR, nc - j), w = width(cols), di = d0 + j * kc + p * w;
                if (cols == w) {
                    for (int v = 0; v < w; v += L) FloatVector.fromArray(S, b, src + j + v).intoArray(dst, di + v);
                } else {
                    System.arraycopy(b, src + j, dst, di, cols);
                    Arrays.fill(dst, di + cols, di + w, 0f);
                }
            }
        }
    }

    /** {@link #packBRows} of a 16-bit B, widened as it is copied. */
    private static void packBRows(HalfStorage b, int bo, int ldb, int pc, int kc, int jc, int nc, float[] dst, int d0) {
        for (int p = 0; p < kc; p++) {
            int src = bo + (pc + p) * ldb + jc;
            for (int j = 0; j < nc; j += NR) {
                int cols = Math.min(NR, nc - j), w = width(cols), di = d0 + j * kc + p * w;
                b.widen(src + j, dst, di, cols);
                if (cols < w) Arrays.fill(dst, di + cols, di + w, 0f);
            }
        }
    }

    /**
     * Packs {@code op(A)[i0:+rows, pc:+kc]} as micro-panels of MR rows, each k-major ({@code MR}
     * floats per k step, rows past {@code rows} zero): micro-panel r at {@code dst[r*MR*kc ..]},
     * A(i0 + r*MR + t, pc + p) at {@code dst[r*MR*kc + p*MR + t]}.
     */
    private static void packAPanels(float[] a, int ao, int lda, boolean transA, int i0, int rows, int pc, int kc,
                                    float[] dst) {
        for (int r0 = 0; r0 < rows; r0 += MR) {
            int h = Math.min(MR, rows - r0), d = r0 * kc;
            if (!transA) {
                for (int t = 0; t < h; t++) {
                    int src = ao + (i0 + r0 + t) * lda + pc;
                    for (int p = 0; p < kc; p++) dst[d + p * MR + t] = a[src + p];
                }
            } else {
                for (int p = 0, src = ao + pc * lda + i0 + r0; p < kc; p++, src += lda) {
                    for (int t = 0; t < h; t++) dst[d + p * MR + t] = a[src + t];
                }
            }
            if (h < MR) {
                for (int p = 0; p < kc; p++) Arrays.fill(dst, d + p * MR + h, d + (p + 1) * MR, 0f);
            }
        }
    }

    /** {@link #packAPanels} of a 16-bit A, widened as it is copied (A's rows through {@code row}, {@code kc} floats). */
    private static void packAPanels(HalfStorage a, int ao, int lda, boolean transA, int i0, int rows, int pc, int kc,
                                    float[] dst, float[] row) {
        for (int r0 = 0; r0 < rows; r0 += MR) {
            int h = Math.min(MR, rows - r0), d = r0 * kc;
            if (!transA) {
                for (int t = 0; t < h; t++) {
                    a.widen(ao + (i0 + r0 + t) * lda + pc, row, 0, kc);
                    for (int p = 0; p < kc; p++) dst[d + p * MR + t] = row[p];
                }
            } else {
                for (int p = 0, src = ao + pc * lda + i0 + r0; p < kc; p++, src += lda) {
                    for (int t = 0; t < h; t++) dst[d + p * MR + t] = a.get(src + t);
                }
            }
            if (h < MR) {
                for (int p = 0; p < kc; p++) Arrays.fill(dst, d + p * MR + h, d + (p + 1) * MR, 0f);
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
