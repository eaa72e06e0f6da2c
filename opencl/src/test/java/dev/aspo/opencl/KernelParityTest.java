package dev.aspo.opencl;

import static dev.aspo.opencl.OpenClTestSupport.assertClose;
import static dev.aspo.opencl.OpenClTestSupport.download;
import static dev.aspo.opencl.OpenClTestSupport.randn;
import static dev.aspo.opencl.OpenClTestSupport.same;
import static dev.aspo.opencl.OpenClTestSupport.uniform;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.aspo.tensor.Backend;
import dev.aspo.tensor.Backends;
import dev.aspo.tensor.BinaryOp;
import dev.aspo.tensor.Storage;
import dev.aspo.tensor.UnaryOp;
import dev.aspo.tensor.ops.Arithmetic;
import dev.aspo.tensor.optim.AdamW;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every {@link Backend} kernel on OpenCL against the CPU backend (itself held to scalar references
 * in the tensor module): the same random inputs, outputs within 1e-4 (relative above 1). Sizes are
 * odd on purpose (they do not divide the 4x16 / 64x64 GEMM blocks or the 64-item work-groups).
 */
class KernelParityTest {
    private static Backend cpu;
    private static OpenClBackend cl;

    @BeforeAll
    static void setUp() {
        cl = OpenClTestSupport.backend();
        cpu = Backends.cpu();
    }

    // ---- memory -------------------------------------------------------------------------------

    @Test
    void memoryOps() {
        Random rng = new Random(1);
        float[] x = randn(rng, 517), y = randn(rng, 517);
        same("memory", cpu, cl, be -> {
            Storage z = be.allocate(300), xs = be.upload(x), ys = be.upload(y);
            float[] part = new float[100];
            be.download(xs, 17, part, 100);
            Storage f = be.upload(x);
            be.fill(f, 5, 200, 2.5f);
            Storage c = be.upload(y);
            be.copy2d(xs, 3, 20, c, 7, 25, 11, 13, false);
            Storage ca = be.upload(y);
            be.copy2d(xs, 1, 17, ca, 2, 19, 9, 17, true);
            Storage ax = be.upload(y);
            be.axpy(-0.75f, xs, ax, 517);
            Storage sc = be.upload(x);
            be.scale(sc, 400, 1.5f);
            double ss = be.sumOfSquares(ys, 517);
            return new float[][] {download(z), part, download(f), download(c), download(ca), download(ax), download(sc),
                    {(float) ss}};
        });
    }

    @Test
    void emptyBuffersWork() {
        Storage e = cl.allocate(0);
        assertEquals(0, e.size());
        assertEquals(0.0, cl.sumOfSquares(e, 0));
        cl.download(cl.upload(new float[0]), 0, new float[0], 0);
    }

    @Test
    void sumOfSquaresIsDouble() {
        float[] x = new float[100_003];
        java.util.Arrays.fill(x, 1.0f);
        x[0] = 1e4f;
        assertEquals(1e8 + 100_002, cl.sumOfSquares(cl.upload(x), x.length), 1e-3);
    }

    // ---- matmul -------------------------------------------------------------------------------

    @Test
    void matmulBothKernelsAllTransposes() {
        OpenClBackend.GemmKind saved = cl.gemmKind();
        try {
            for (OpenClBackend.GemmKind kind : OpenClBackend.GemmKind.values()) {
                cl.setGemmKind(kind);
                // n % 16 == 0 with a small B reads B in place on CPU devices; the rest packs it (and a 500x528 B is large)
                int[][] sizes = {{1, 1, 1}, {37, 45, 29}, {130, 70, 65}, {4, 16, 8}, {64, 64, 17}, {3, 200, 1}, {19, 48, 33},
                        {3, 528, 500}, {5, 0, 3}, {6, 5, 0}};
                for (int[] s : sizes) {
                    for (int t = 0; t < 4; t++) {
                        boolean ta = (t & 1) != 0, tb = (t & 2) != 0;
                        int m = s[0], n = s[1], k = s[2], batch = 3;
                        Random rng = new Random(m * 31 + n * 7 + k + t);
                        float[] a = randn(rng, batch * m * k), b = randn(rng, batch * k * n), c0 = randn(rng, batch * m * n);
                        for (boolean acc : new boolean[] {false, true}) {
                            for (int bStride : new int[] {k * n, 0}) {
                                same("matmul " + kind + " " + m + "x" + n + "x" + k + " tA=" + ta + " tB=" + tb + " acc=" + acc
                                        + " bStride=" + bStride, cpu, cl, be -> {
                                    Storage c = be.upload(c0);
                                    be.matmul(be.upload(a), m * k, ta, be.upload(b), bStride, tb, c, batch, m, n, k, acc);
                                    return new float[][] {download(c)};
                                });
                            }
                        }
                    }
                }
            }
        } finally {
            cl.setGemmKind(saved);
        }
    }

    @Test
    void kernelKindsFollowDeviceType() {
        assertEquals(cl.device().isCpu() ? OpenClBackend.GemmKind.CPU : OpenClBackend.GemmKind.GPU, cl.gemmKind());
        assertEquals(cl.device().isCpu() ? OpenClBackend.RowKind.SERIAL : OpenClBackend.RowKind.GROUP, cl.rowKind());
    }

    // ---- elementwise --------------------------------------------------------------------------

    @Test
    void unaryForwardAndBackward() {
        Random rng = new Random(2);
        int n = 1031;
        for (UnaryOp op : UnaryOp.values()) {
            boolean positive = op == UnaryOp.LOG || op == UnaryOp.SQRT || op == UnaryOp.RSQRT;
            float[] x = positive ? uniform(rng, n, 0.1f, 5f) : uniform(rng, n, -6f, 6f);
            x[0] = positive ? 30f : 25f;   // softplus threshold, large inputs
            float[] gy = randn(rng, n), gx0 = randn(rng, n);
            same("unary " + op, cpu, cl, be -> {
                Storage xs = be.upload(x), y = be.allocate(n), gx = be.upload(gx0);
                be.unary(op, xs, y, n);
                be.unaryBackward(op, xs, y, be.upload(gy), gx, n);
                return new float[][] {download(y), download(gx)};
            });
        }
    }

    @Test
    void affine() {
        float[] x = randn(new Random(3), 999);
        same("affine", cpu, cl, be -> {
            Storage y = be.allocate(999);
            be.affine(be.upload(x), y, 999, -1.25f, 0.5f);
            return new float[][] {download(y)};
        });
    }

    @Test
    void binaryBroadcastForwardAndBackward() {
        int[][][] cases = {
                {{3, 5}, {3, 5}}, {{3, 5}, {5}}, {{3, 5}, {3, 1}}, {{2, 3, 4}, {1, 3, 1}}, {{7, 1, 9}, {1, 6, 9}},
                {{4, 5}, {1}}, {{1}, {4, 5}}, {{2, 1, 3, 1, 5}, {2, 4, 1, 6, 5}}, {{100, 33}, {33}}};
        Random rng = new Random(4);
        for (int[][] c : cases) {
            int[] sa = c[0], sb = c[1];
            int[] out = Arithmetic.broadcastShape("test", sa, sb);
            int[] as = Arithmetic.broadcastStrides(sa, out), bs = Arithmetic.broadcastStrides(sb, out);
            int na = numel(sa), nb = numel(sb), no = numel(out);
            float[] a = randn(rng, na), b = uniform(rng, nb, 0.5f, 2f), gout = randn(rng, no);
            float[] ga0 = randn(rng, na), gb0 = randn(rng, nb);
            for (BinaryOp op : BinaryOp.values()) {
                same("binary " + op + " " + java.util.Arrays.toString(sa) + " " + java.util.Arrays.toString(sb), cpu, cl, be -> {
                    Storage A = be.upload(a), B = be.upload(b), o = be.allocate(no), go = be.upload(gout);
                    Storage ga = be.upload(ga0), gb = be.upload(gb0);
                    be.binary(op, A, as, B, bs, o, out);
                    be.binaryBackward(op, 0, A, as, B, bs, go, out, ga);
                    be.binaryBackward(op, 1, A, as, B, bs, go, out, gb);
                    return new float[][] {download(o), download(ga), download(gb)};
                });
            }
        }
    }

    // ---- reductions ---------------------------------------------------------------------------

    @Test
    void reductions() {
        Random rng = new Random(5);
        int[][] dims = {{1, 1000, 1}, {7, 13, 1}, {5, 9, 11}, {1, 3, 257}, {4, 1, 6}};
        for (int[] d : dims) {
            int outer = d[0], dim = d[1], inner = d[2], n = outer * dim * inner;
            float[] x = randn(rng, n), gy = randn(rng, outer * inner), gx0 = randn(rng, n);
            for (int i = 0; i < n; i += 7) x[i] = Math.round(x[i]);   // ties for argmax
            same("reduce " + java.util.Arrays.toString(d), cpu, cl, be -> {
                Storage xs = be.upload(x), s = be.allocate(outer * inner), m = be.allocate(outer * inner);
                Storage idx = be.allocate(outer * inner), m2 = be.allocate(outer * inner), gx = be.upload(gx0);
                be.sum(xs, s, outer, dim, inner);
                be.max(xs, m, idx, outer, dim, inner);
                be.max(xs, m2, null, outer, dim, inner);
                be.sumBackward(be.upload(gy), gx, outer, dim, inner);
                Storage gmax = be.upload(gx0);
                be.maxBackward(be.upload(gy), idx, gmax, outer, dim, inner);
                return new float[][] {download(s), download(m), download(idx), download(m2), download(gx), download(gmax)};
            });
        }
    }

    @Test
    void maxPropagatesNaN() {
        float[] x = {1, Float.NaN, 3, 2, 5, 4};
        same("max NaN", cpu, cl, be -> {
            Storage y = be.allocate(2), idx = be.allocate(2);
            be.max(be.upload(x), y, idx, 2, 3, 1);
            return new float[][] {download(y), download(idx)};
        });
    }

    @Test
    void segmentSums() {
        Random rng = new Random(6);
        int n = 333, segments = 17;
        int[] seg = new int[n];
        for (int t = 0; t < n; t++) seg[t] = rng.nextInt(segments + 1) - 1;
        seg[5] = -1;
        float[] x = randn(rng, n), gy = randn(rng, segments), gx0 = randn(rng, n), y0 = randn(rng, segments);
        same("segmentSum", cpu, cl, be -> {
            Storage y = be.upload(y0), gx = be.upload(gx0);
            be.segmentSum(be.upload(x), seg, y, n, segments);
            be.segmentSumBackward(be.upload(gy), seg, gx, n);
            return new float[][] {download(y), download(gx)};
        });
        assertThrows(IllegalArgumentException.class, () -> cl.segmentSum(cl.upload(x), new int[] {0, 17}, cl.allocate(17), 2, 17));
    }

    // ---- softmax and losses -------------------------------------------------------------------

    @Test
    void softmaxAndLogSoftmax() {
        Random rng = new Random(7);
        int rows = 13, cols = 1001;
        float[] x = randn(rng, rows * cols), gy = randn(rng, rows * cols), gx0 = randn(rng, rows * cols);
        for (int i = 0; i < x.length; i++) x[i] *= 5;
        for (OpenClBackend.RowKind kind : OpenClBackend.RowKind.values()) {
            withRowKind(kind, () -> {
                for (boolean log : new boolean[] {false, true}) {
                    same("softmax " + kind + " log=" + log, cpu, cl, be -> {
                        Storage y = be.allocate(rows * cols), gx = be.upload(gx0);
                        be.softmax(be.upload(x), y, rows, cols, log);
                        be.softmaxBackward(y, be.upload(gy), gx, rows, cols, log);
                        return new float[][] {download(y), download(gx)};
                    });
                }
            });
        }
    }

    private static void withRowKind(OpenClBackend.RowKind kind, Runnable body) {
        OpenClBackend.RowKind saved = cl.rowKind();
        cl.setRowKind(kind);
        try {
            body.run();
        } finally {
            cl.setRowKind(saved);
        }
    }

    @Test
    void crossEntropy() {
        Random rng = new Random(8);
        int rows = 11, cols = 517;
        float[] x = randn(rng, rows * cols), gloss = randn(rng, rows), gx0 = randn(rng, rows * cols);
        int[] target = new int[rows];
        for (int r = 0; r < rows; r++) target[r] = rng.nextInt(cols);
        target[3] = -1;
        target[7] = -100;
        for (OpenClBackend.RowKind kind : OpenClBackend.RowKind.values()) {
            withRowKind(kind, () -> same("crossEntropy " + kind, cpu, cl, be -> {
                Storage xs = be.upload(x), loss = be.allocate(rows), lse = be.allocate(rows), gx = be.upload(gx0);
                be.crossEntropy(xs, target, loss, lse, rows, cols);
                be.crossEntropyBackward(xs, target, lse, be.upload(gloss), gx, rows, cols);
                return new float[][] {download(loss), download(lse), download(gx)};
            }));
        }
        assertThrows(IllegalArgumentException.class,
                () -> cl.crossEntropy(cl.upload(x), new int[] {cols}, cl.allocate(1), cl.allocate(1), 1, cols));
    }

    // ---- normalisation ------------------------------------------------------------------------

    @Test
    void layerNorm() {
        Random rng = new Random(9);
        int rows = 19, cols = 77;
        float[] x = randn(rng, rows * cols), w = randn(rng, cols), b = randn(rng, cols), gy = randn(rng, rows * cols);
        float[] gx0 = randn(rng, rows * cols), gw0 = randn(rng, cols), gb0 = randn(rng, cols);
        for (int i = 0; i < cols; i++) x[i] += 100;   // a row with a large mean
        for (boolean bias : new boolean[] {true, false}) {
            same("layerNorm bias=" + bias, cpu, cl, be -> {
                Storage xs = be.upload(x), ws = be.upload(w), y = be.allocate(rows * cols);
                Storage mean = be.allocate(rows), rstd = be.allocate(rows);
                be.layerNorm(xs, ws, bias ? be.upload(b) : null, y, mean, rstd, rows, cols, 1e-5f);
                Storage gx = be.upload(gx0), gw = be.upload(gw0), gb = be.upload(gb0), gys = be.upload(gy);
                be.layerNormBackward(xs, ws, mean, rstd, gys, gx, gw, gb, rows, cols);
                Storage gx2 = be.upload(gx0), gb2 = be.upload(gb0);
                be.layerNormBackward(xs, ws, mean, rstd, gys, gx2, null, bias ? gb2 : null, rows, cols);
                return new float[][] {download(y), download(mean), download(rstd), download(gx), download(gw), download(gb),
                        download(gx2), download(gb2)};
            });
        }
    }

    @Test
    void rmsNorm() {
        Random rng = new Random(10);
        int rows = 23, cols = 65;
        float[] x = randn(rng, rows * cols), w = randn(rng, cols), gy = randn(rng, rows * cols);
        float[] gx0 = randn(rng, rows * cols), gw0 = randn(rng, cols);
        same("rmsNorm", cpu, cl, be -> {
            Storage xs = be.upload(x), ws = be.upload(w), y = be.allocate(rows * cols), rstd = be.allocate(rows);
            be.rmsNorm(xs, ws, y, rstd, rows, cols, 1e-6f);
            Storage gx = be.upload(gx0), gw = be.upload(gw0), gys = be.upload(gy);
            be.rmsNormBackward(xs, ws, rstd, gys, gx, gw, rows, cols);
            Storage gw2 = be.upload(gw0);
            be.rmsNormBackward(xs, ws, rstd, gys, null, gw2, rows, cols);
            return new float[][] {download(y), download(rstd), download(gx), download(gw), download(gw2)};
        });
    }

    // ---- transformer pieces -------------------------------------------------------------------

    @Test
    void rope() {
        Random rng = new Random(11);
        int batch = 2, seq = 7, heads = 3, headDim = 18, n = batch * seq * heads * headDim;
        int[] pos = new int[batch * seq];
        for (int i = 0; i < pos.length; i++) pos[i] = i % 2 == 0 ? i * 311 : i;   // large, sparse positions
        float[] x = randn(rng, n), y0 = randn(rng, n);
        same("rope", cpu, cl, be -> {
            Storage xs = be.upload(x), y = be.allocate(n), inPlace = be.upload(x), back = be.upload(y0);
            be.rope(xs, y, pos, batch, seq, heads, headDim, 10000f, false);
            be.rope(inPlace, inPlace, pos, batch, seq, heads, headDim, 10000f, false);
            be.rope(xs, back, pos, batch, seq, heads, headDim, 500000f, true);
            return new float[][] {download(y), download(inPlace), download(back)};
        });
    }

    @Test
    void attention() {
        Random rng = new Random(12);
        int[][] configs = {   // batch, seq, keySeq, qHeads, kvHeads, headDim, causal, mask
                {2, 5, 5, 4, 2, 8, 1, 0}, {1, 3, 7, 2, 2, 16, 1, 1}, {2, 6, 6, 3, 1, 5, 0, 1}, {1, 9, 9, 2, 1, 64, 1, 0},
                {2, 4, 4, 2, 2, 4, 1, 1}};
        for (int[] c : configs) {
            int batch = c[0], seq = c[1], keySeq = c[2], qH = c[3], kvH = c[4], hd = c[5];
            boolean causal = c[6] == 1;
            float[] mask = null;
            if (c[7] == 1) {
                mask = new float[batch * keySeq];
                for (int i = 0; i < mask.length; i++) mask[i] = rng.nextInt(4) == 0 ? 0 : 1;
                mask[0] = 0;   // with causal: the first query of batch 0 sees nothing (zeros, not NaN)
            }
            float[] keyMask = mask;
            int nq = batch * seq * qH * hd, nk = batch * keySeq * kvH * hd, np = batch * qH * seq * keySeq;
            float[] q = randn(rng, nq), k = randn(rng, nk), v = randn(rng, nk), gout = randn(rng, nq);
            float[] gq0 = randn(rng, nq), gk0 = randn(rng, nk), gv0 = randn(rng, nk);
            float scale = (float) (1 / Math.sqrt(hd));
            same("attention " + java.util.Arrays.toString(c), cpu, cl, be -> {
                Storage qs = be.upload(q), ks = be.upload(k), vs = be.upload(v), out = be.allocate(nq), probs = be.allocate(np);
                be.attention(qs, ks, vs, out, probs, keyMask, batch, seq, keySeq, qH, kvH, hd, scale, causal);
                Storage gq = be.upload(gq0), gk = be.upload(gk0), gv = be.upload(gv0), go = be.upload(gout);
                be.attentionBackward(qs, ks, vs, probs, go, gq, gk, gv, batch, seq, keySeq, qH, kvH, hd, scale);
                Storage gv2 = be.upload(gv0);
                be.attentionBackward(qs, ks, vs, probs, go, null, null, gv2, batch, seq, keySeq, qH, kvH, hd, scale);
                return new float[][] {download(out), download(probs), download(gq), download(gk), download(gv), download(gv2)};
            });
        }
    }

    @Test
    void inverseCountOfKeptTargets() {
        int[][] cases = {{3, -100, 0, 7, -1, 2}, {-100, -100}, {}, {5}};
        for (int[] targets : cases) {
            same("inverseCount " + java.util.Arrays.toString(targets), cpu, cl, be -> {
                Storage out = be.allocate(1);
                be.inverseCount(targets, out);
                return new float[][] {download(out)};
            });
        }
        Storage out = cl.allocate(1);
        cl.inverseCount(cases[0], out);
        assertEquals(1f / 4, download(out)[0], 0f, "four kept targets");
        cl.inverseCount(cases[1], out);
        assertEquals(1f, download(out)[0], 0f, "none kept: 1, not infinity");
    }

    @Test
    void gatherAndScatterAdd() {
        Random rng = new Random(13);
        int rows = 50, cols = 37, n = 200;
        int[] index = new int[n];
        for (int i = 0; i < n; i++) index[i] = rng.nextInt(rows / 5);   // many repeats
        float[] x = randn(rng, rows * cols), gy = randn(rng, n * cols), gx0 = randn(rng, rows * cols);
        same("gather/scatter", cpu, cl, be -> {
            Storage y = be.allocate(n * cols), gx = be.upload(gx0), gxSkip = be.upload(gx0);
            be.gatherRows(be.upload(x), index, y, cols);
            be.scatterAddRows(be.upload(gy), index, gx, cols, -1);
            be.scatterAddRows(be.upload(gy), index, gxSkip, cols, index[3]);   // an id that occurs: its rows are left out
            return new float[][] {download(y), download(gx), download(gxSkip)};
        });
        assertThrows(IllegalArgumentException.class, () -> cl.gatherRows(cl.upload(x), new int[] {rows}, cl.allocate(cols), cols));
    }

    @Test
    void permute() {
        Random rng = new Random(14);
        int[][][] cases = {{{2, 3, 4, 5}, {0, 2, 1, 3}}, {{2, 3, 4, 5}, {3, 2, 1, 0}}, {{7, 9}, {1, 0}}, {{3, 4, 5}, {0, 1, 2}},
                {{2, 3, 4, 5}, {0, 1, 3, 2}}};
        for (int[][] c : cases) {
            int[] shape = c[0], perm = c[1];
            int n = numel(shape);
            float[] x = randn(rng, n), y0 = randn(rng, n);
            for (boolean acc : new boolean[] {false, true}) {
                same("permute " + java.util.Arrays.toString(perm), cpu, cl, be -> {
                    Storage y = be.upload(y0);
                    be.permute(be.upload(x), shape, perm, y, acc);
                    return new float[][] {download(y)};
                });
            }
        }
    }

    // ---- optimiser ----------------------------------------------------------------------------

    @Test
    void adamwSteps() {
        Random rng = new Random(15);
        int n = 1001;
        float[] p = randn(rng, n), m = new float[n], v = new float[n];
        float[][] grads = {randn(rng, n), randn(rng, n), randn(rng, n)};
        same("adamw", cpu, cl, be -> {
            Storage ps = be.upload(p), ms = be.upload(m), vs = be.upload(v), scalars = be.allocate(4);
            for (int step = 1; step <= 3; step++) {
                float[] sc = new float[4];
                AdamW.stepScalars(sc, 1, 1e-2, 0.1, 0.9, 0.999, step);
                be.writeEachStep(scalars, () -> sc);
                be.adamw(ps, be.upload(grads[step - 1]), ms, vs, n, scalars, 1, 0.9, 0.999, 1e-8);
            }
            return new float[][] {download(ps), download(ms), download(vs)};
        });
    }

    @Test
    void unreachableStoragesAreFreedUnderTheMemoryLimit() {
        long saved = cl.memoryLimit();
        try {
            long base = cl.liveBytes();
            cl.setMemoryLimit(base + (16L << 20));
            for (int i = 0; i < 200; i++) cl.allocate(1 << 18);     // 1 MiB each, dropped at once
            long live = cl.liveBytes() - base;
            assertTrue(live <= 64L << 20, "live device bytes after 200 MiB of dropped tensors: " + live);
        } finally {
            cl.setMemoryLimit(saved);
        }
    }

    // ---- selection ----------------------------------------------------------------------------

    @Test
    void deviceSelection() {
        assertEquals("cpu", Devices.select("cpu").name());
        Backend chosen = Devices.select(cl.name());
        assertTrue(chosen == cl, "one backend per device");
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class, () -> Devices.select("opencl:9:9"));
        assertTrue(bad.getMessage().contains("present: opencl:"), bad.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Devices.select("opencl:x"));
        assertThrows(IllegalArgumentException.class, () -> Devices.select("cuda"));
    }

    @Test
    void foreignStorageIsRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> cl.scale(cpu.upload(new float[3]), 3, 2f));
        assertTrue(e.getMessage().contains("cpu"), e.getMessage());
    }

    @Test
    void downloadOutOfRangeIsRejected() {
        assertThrows(IllegalArgumentException.class, () -> cl.download(cl.allocate(4), 2, new float[4], 4));
        float[] h = new float[2];
        cl.download(cl.upload(new float[] {1, 2, 3, 4}), 2, h, 2);
        assertClose("download offset", new float[] {3, 4}, h, 0);
    }

    private static int numel(int[] shape) {
        int p = 1;
        for (int s : shape) p *= s;
        return p;
    }
}
