package dev.aspo.tensor.cpu;

import static dev.aspo.tensor.cpu.CpuStorage.data;

import dev.aspo.tensor.Backend;
import dev.aspo.tensor.BinaryOp;
import dev.aspo.tensor.Storage;
import dev.aspo.tensor.UnaryOp;

/**
 * The default backend: heap arrays, all cores, {@code jdk.incubator.vector} in the hot loops.
 * This class only routes; each family of kernels lives in its own class beside it.
 */
public final class CpuBackend implements Backend {
    public static final CpuBackend INSTANCE = new CpuBackend();

    /** The GEMM micro-kernel and cache blocks chosen for this machine, in one line (benchmark headers). */
    public static String gemmKernel() {
        return GemmShape.describe();
    }

    private CpuBackend() {}

    @Override
    public String name() {
        return "cpu";
    }

    // ---- memory -----------------------------------------------------------------------------

    @Override
    public Storage allocate(int n) {
        return new CpuStorage(new float[n]);
    }

    @Override
    public Storage upload(float[] host) {
        return new CpuStorage(host.clone());
    }

    @Override
    public void download(Storage src, int offset, float[] dst, int n) {
        System.arraycopy(data(src), offset, dst, 0, n);
    }

    @Override
    public void fill(Storage x, int offset, int n, float value) {
        float[] d = data(x);
        // zeroing gradient buffers ran on one core while the other waited (a tenth of the idle time of
        // a 2-thread training step); a fill is memory-bound, so only large ones are split
        Parallel.forRange(n, FILL_GRAIN, (s, e) -> java.util.Arrays.fill(d, offset + s, offset + e, value));
    }

    /** Floats of a fill chunk: 512 KB, about 20 us of stores. */
    private static final int FILL_GRAIN = 1 << 17;

    @Override
    public void copy2d(Storage src, int sOff, int sLd, Storage dst, int dOff, int dLd, int rows, int cols,
                       boolean accumulate) {
        float[] s = data(src), d = data(dst);
        for (int r = 0; r < rows; r++) {
            int si = sOff + r * sLd, di = dOff + r * dLd;
            if (accumulate) {
                for (int c = 0; c < cols; c++) d[di + c] += s[si + c];
            } else {
                System.arraycopy(s, si, d, di, cols);
            }
        }
    }

    @Override
    public void axpy(float alpha, Storage x, Storage y, int n) {
        float[] xs = data(x), ys = data(y);
        for (int i = 0; i < n; i++) ys[i] += alpha * xs[i];
    }

    @Override
    public void scale(Storage x, int n, float alpha) {
        float[] xs = data(x);
        for (int i = 0; i < n; i++) xs[i] *= alpha;
    }

    @Override
    public double sumOfSquares(Storage x, int n) {
        float[] xs = data(x);
        double s = 0;
        for (int i = 0; i < n; i++) s += (double) xs[i] * xs[i];
        return s;
    }

    // ---- matrix multiply ----------------------------------------------------------------------

    @Override
    public void matmul(Storage a, int aStride, boolean transA, Storage b, int bStride, boolean transB,
                       Storage c, int batch, int m, int n, int k, boolean accumulate) {
        if (a instanceof HalfStorage || b instanceof HalfStorage) {   // a frozen 16-bit weight, widened as it is packed
            HalfStorage ha = a instanceof HalfStorage h ? h : null, hb = b instanceof HalfStorage h ? h : null;
            Gemm.matmul(ha == null ? data(a) : null, ha, aStride, transA, hb == null ? data(b) : null, hb, bStride, transB,
                    data(c), batch, m, n, k, accumulate);
            return;
        }
        Gemm.matmul(data(a), aStride, transA, data(b), bStride, transB, data(c), batch, m, n, k, accumulate);
    }

    // ---- elementwise --------------------------------------------------------------------------

    @Override
    public void unary(UnaryOp op, Storage x, Storage y, int n) {
        ElementwiseKernels.unary(op, data(x), data(y), n);
    }

    @Override
    public void unaryBackward(UnaryOp op, Storage x, Storage y, Storage gy, Storage gx, int n) {
        ElementwiseKernels.unaryBackward(op, data(x), data(y), data(gy), data(gx), n);
    }

    @Override
    public void affine(Storage x, Storage y, int n, float alpha, float beta) {
        ElementwiseKernels.affine(data(x), data(y), n, alpha, beta);
    }

    @Override
    public void binary(BinaryOp op, Storage a, int[] aStrides, Storage b, int[] bStrides, Storage out,
                       int[] outShape) {
        ElementwiseKernels.binary(op, data(a), aStrides, data(b), bStrides, data(out), outShape);
    }

    @Override
    public void binaryBackward(BinaryOp op, int side, Storage a, int[] aStrides, Storage b, int[] bStrides,
                               Storage gout, int[] outShape, Storage g) {
        ElementwiseKernels.binaryBackward(op, side, data(a), aStrides, data(b), bStrides, data(gout), outShape, data(g));
    }

    // ---- reductions ---------------------------------------------------------------------------

    @Override
    public void sum(Storage x, Storage y, int outer, int dim, int inner) {
        ReduceKernels.sum(data(x), data(y), outer, dim, inner);
    }

    @Override
    public void max(Storage x, Storage y, Storage idx, int outer, int dim, int inner) {
        ReduceKernels.max(data(x), data(y), idx == null ? null : data(idx), outer, dim, inner);
    }

    @Override
    public void maxBackward(Storage gy, Storage idx, Storage gx, int outer, int dim, int inner) {
        ReduceKernels.maxBackward(data(gy), data(idx), data(gx), outer, dim, inner);
    }

    @Override
    public void sumBackward(Storage gy, Storage gx, int outer, int dim, int inner) {
        ReduceKernels.sumBackward(data(gy), data(gx), outer, dim, inner);
    }

    @Override
    public void segmentSum(Storage x, int[] segment, Storage y, int n, int segments) {
        ReduceKernels.segmentSum(data(x), segment, data(y), n, segments);
    }

    @Override
    public void segmentSumBackward(Storage gy, int[] segment, Storage gx, int n) {
        ReduceKernels.segmentSumBackward(data(gy), segment, data(gx), n);
    }

    // ---- softmax and losses -------------------------------------------------------------------

    @Override
    public void softmax(Storage x, Storage y, int rows, int cols, boolean log) {
        SoftmaxKernels.softmax(data(x), data(y), rows, cols, log);
    }

    @Override
    public void softmaxBackward(Storage y, Storage gy, Storage gx, int rows, int cols, boolean log) {
        SoftmaxKernels.softmaxBackward(data(y), data(gy), data(gx), rows, cols, log);
    }

    @Override
    public void crossEntropy(Storage logits, int[] target, Storage loss, Storage lse, int rows, int cols) {
        SoftmaxKernels.crossEntropy(data(logits), target, data(loss), data(lse), rows, cols);
    }

    @Override
    public void crossEntropyBackward(Storage logits, int[] target, Storage lse, Storage gloss, Storage gx,
                                     int rows, int cols) {
        SoftmaxKernels.crossEntropyBackward(data(logits), target, data(lse), data(gloss), data(gx), rows, cols);
    }

    // ---- normalisation ------------------------------------------------------------------------

    @Override
    public void layerNorm(Storage x, Storage w, Storage b, Storage y, Storage mean, Storage rstd,
                          int rows, int cols, float eps) {
        NormKernels.layerNorm(data(x), data(w), b == null ? null : data(b), data(y), data(mean), data(rstd),
                rows, cols, eps);
    }

    @Override
    public void layerNormBackward(Storage x, Storage w, Storage mean, Storage rstd, Storage gy,
                                  Storage gx, Storage gw, Storage gb, int rows, int cols) {
        NormKernels.layerNormBackward(data(x), data(w), data(mean), data(rstd), data(gy), opt(gx), opt(gw), opt(gb),
                rows, cols);
    }

    @Override
    public void rmsNorm(Storage x, Storage w, Storage y, Storage rstd, int rows, int cols, float eps) {
        NormKernels.rmsNorm(data(x), data(w), data(y), data(rstd), rows, cols, eps);
    }

    @Override
    public void rmsNormBackward(Storage x, Storage w, Storage rstd, Storage gy, Storage gx, Storage gw,
                                int rows, int cols) {
        NormKernels.rmsNormBackward(data(x), data(w), data(rstd), data(gy), opt(gx), opt(gw), rows, cols);
    }

    // ---- transformer pieces -------------------------------------------------------------------

    @Override
    public void rope(Storage x, Storage y, int[] position, int batch, int seq, int heads, int headDim,
                     float theta, boolean inverse) {
        RopeKernel.rope(data(x), data(y), position, batch, seq, heads, headDim, theta, inverse);
    }

    @Override
    public void attention(Storage q, Storage k, Storage v, Storage out, Storage probs, float[] keyMask,
                          int batch, int seq, int keySeq, int qHeads, int kvHeads, int headDim,
                          float scale, boolean causal) {
        AttentionKernel.forward(data(q), data(k), data(v), data(out), data(probs), keyMask,
                batch, seq, keySeq, qHeads, kvHeads, headDim, scale, causal);
    }

    @Override
    public void attentionBackward(Storage q, Storage k, Storage v, Storage probs, Storage gout,
                                  Storage gq, Storage gk, Storage gv,
                                  int batch, int seq, int keySeq, int qHeads, int kvHeads, int headDim,
                                  float scale) {
        AttentionKernel.backward(data(q), data(k), data(v), data(probs), data(gout), opt(gq), opt(gk), opt(gv),
                batch, seq, keySeq, qHeads, kvHeads, headDim, scale);
    }

    @Override
    public void gatherRows(Storage x, int[] index, Storage y, int cols) {
        if (x instanceof HalfStorage h) IndexKernels.gatherRows(h, index, data(y), cols);
        else IndexKernels.gatherRows(data(x), index, data(y), cols);
    }

    @Override
    public void scatterAddRows(Storage gy, int[] index, Storage gx, int cols, int skip) {
        IndexKernels.scatterAddRows(data(gy), index, data(gx), cols, skip);
    }

    @Override
    public void permute(Storage x, int[] shape, int[] perm, Storage y, boolean accumulate) {
        IndexKernels.permute(data(x), shape, perm, data(y), accumulate);
    }

    // ---- optimiser ----------------------------------------------------------------------------

    @Override
    public void writeEachStep(Storage dst, java.util.function.Supplier<float[]> values) {
        float[] v = values.get();
        if (v.length > dst.size()) {
            throw new IllegalArgumentException("writeEachStep: " + v.length + " values for a buffer of " + dst.size());
        }
        System.arraycopy(v, 0, data(dst), 0, v.length);
    }

    @Override
    public void inverseCount(int[] target, Storage out) {
        int kept = 0;
        for (int t : target) if (t >= 0) kept++;
        data(out)[0] = 1f / Math.max(1, kept);
    }

    @Override
    public void adamw(Storage p, Storage g, Storage m, Storage v, int n, Storage scalars, int at, double beta1,
                      double beta2, double eps) {
        float[] sc = data(scalars);
        AdamWKernel.step(data(p), data(g), data(m), data(v), n, sc[at], sc[at + 1], sc[at + 2], beta1, beta2, eps);
    }

    private static float[] opt(Storage s) {
        return s == null ? null : data(s);
    }
}
