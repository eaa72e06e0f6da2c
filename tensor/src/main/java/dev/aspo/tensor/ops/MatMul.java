package dev.aspo.tensor.ops;

import dev.aspo.tensor.Autograd;
import dev.aspo.tensor.Backend;
import dev.aspo.tensor.Precision;
import dev.aspo.tensor.Storage;
import dev.aspo.tensor.Tensor;
import java.util.Arrays;

/**
 * Batched matrix multiply with transpose flags: {@code op(a) @ op(b)} over the last two axes.
 *
 * <pre>
 *   a [..., m, k]  (or [..., k, m] with transA)      b [k, n]  (or [n, k] with transB)
 *         \                                          /   2-D b is shared by every batch entry,
 *          +------------ C [..., m, n] -------------+    as a Linear layer's weight is
 * </pre>
 *
 * Either side may be 2-D and is then broadcast over the other's batch; otherwise both have the
 * same leading axes. Backward: {@code dA = dC op(B)^T}, {@code dB = op(A)^T dC}, each written
 * as one more matmul with the transpose flags turned around (no transposed copies).
 *
 * <p>Either side may be a frozen weight held in bfloat16 or float16 ({@link Tensor#storeAs}): the
 * backend widens it as it reads it, forward and in the other side's gradient; it gets no gradient
 * of its own.
 */
public final class MatMul {
    private MatMul() {}

    public static Tensor matmul(Tensor a, Tensor b) {
        return matmul(a, b, false, false);
    }

    public static Tensor matmul(Tensor a, Tensor b, boolean transA, boolean transB) {
        if (a.rank() < 2 || b.rank() < 2) {
            throw new IllegalArgumentException("matmul needs tensors of rank >= 2, got " + Arrays.toString(a.shape())
                    + " and " + Arrays.toString(b.shape()));
        }
        int m = transA ? a.size(-1) : a.size(-2), ka = transA ? a.size(-2) : a.size(-1);
        int kb = transB ? b.size(-1) : b.size(-2), n = transB ? b.size(-2) : b.size(-1);
        if (ka != kb) {
            throw new IllegalArgumentException("matmul: inner dimensions differ: " + Arrays.toString(a.shape())
                    + (transA ? "^T" : "") + " @ " + Arrays.toString(b.shape()) + (transB ? "^T" : ""));
        }
        if (a.backend() != b.backend()) {
            throw new IllegalArgumentException("matmul: operands on different backends (" + a.backend().name() + " and "
                    + b.backend().name() + ")" + (a.precision() != Precision.FLOAT32 || b.precision() != Precision.FLOAT32
                    ? "; weights held in 16 bits stay on the cpu backend, so a model on another backend keeps float32 weights" : ""));
        }
        int k = ka;
        int[] batchA = Arrays.copyOf(a.shape(), a.rank() - 2), batchB = Arrays.copyOf(b.shape(), b.rank() - 2);
        boolean shareA = batchA.length == 0, shareB = batchB.length == 0;
        if (!shareA && !shareB && !Arrays.equals(batchA, batchB)) {
            throw new IllegalArgumentException("matmul: batch axes differ: " + Arrays.toString(a.shape()) + " vs "
                    + Arrays.toString(b.shape()) + " (a 2-D operand is broadcast; otherwise they must match)");
        }
        int[] batchShape = shareA ? batchB : batchA;
        int batch = (int) Tensor.numel(batchShape);
        int[] outShape = Arrays.copyOf(batchShape, batchShape.length + 2);
        outShape[batchShape.length] = m;
        outShape[batchShape.length + 1] = n;

        Backend be = a.backend();
        Storage sa = a.storageOfAnyPrecision(), sb = b.storageOfAnyPrecision();   // either may be a 16-bit weight
        Tensor out = Tensor.unfilled(be, outShape);
        int aStride = shareA ? 0 : m * k, bStride = shareB ? 0 : k * n;
        // A Linear layer: 2-D weight, untransposed rows in a: one GEMM over all rows.
        boolean flatten = shareB && !shareA && !transA;
        if (flatten) {
            be.matmul(sa, 0, false, sb, 0, transB, out.storage(), 1, batch * m, n, k, false);
        } else {
            be.matmul(sa, aStride, transA, sb, bStride, transB, out.storage(), batch, m, n, k, false);
        }
        if (!Autograd.isRecording(a, b)) return out;

        // The first gradient to reach a or b is written by the GEMM, not added to a zero-filled buffer.
        return Autograd.record(out, "matmul", () -> {
            Storage g = out.gradBuffer();
            if (Autograd.needsGrad(a)) {
                if (flatten) {          // dA = dC op(B)^T, all rows at once
                    Storage ga = a.gradBufferToOverwrite();
                    be.matmul(g, 0, false, sb, 0, !transB, ga != null ? ga : a.gradBuffer(), 1, batch * m, k, n, ga == null);
                } else if (!shareA) {   // per batch entry
                    Storage ga = a.gradBufferToOverwrite();
                    Storage dst = ga != null ? ga : a.gradBuffer();
                    if (!transA) be.matmul(g, m * n, false, sb, bStride, !transB, dst, batch, m, k, n, ga == null);
                    else be.matmul(sb, bStride, transB, g, m * n, true, dst, batch, k, m, n, ga == null);
                } else {                // a shared over the batch: sum the per-entry gradients
                    Storage tmp = be.allocate(batch * m * k);
                    if (!transA) be.matmul(g, m * n, false, sb, bStride, !transB, tmp, batch, m, k, n, false);
                    else be.matmul(sb, bStride, transB, g, m * n, true, tmp, batch, k, m, n, false);
                    addBatchSum(be, tmp, batch, m * k, a.gradBuffer());
                }
            }
            if (Autograd.needsGrad(b)) {
                Storage gb = flatten || !shareB ? b.gradBufferToOverwrite() : null;
                Storage dst = gb != null ? gb : b.gradBuffer();
                if (flatten) {          // dB = op(A)^T dC, all rows at once
                    if (!transB) be.matmul(sa, 0, true, g, 0, false, dst, 1, k, n, batch * m, gb == null);
                    else be.matmul(g, 0, true, sa, 0, false, dst, 1, n, k, batch * m, gb == null);
                } else if (!shareB) {
                    if (!transB) be.matmul(sa, aStride, !transA, g, m * n, false, dst, batch, k, n, m, gb == null);
                    else be.matmul(g, m * n, true, sa, aStride, transA, dst, batch, n, k, m, gb == null);
                } else {
                    Storage tmp = be.allocate(batch * k * n);
                    if (!transB) be.matmul(sa, aStride, !transA, g, m * n, false, tmp, batch, k, n, m, false);
                    else be.matmul(g, m * n, true, sa, aStride, transA, tmp, batch, n, k, m, false);
                    addBatchSum(be, tmp, batch, k * n, b.gradBuffer());
                }
            }
        }, a, b);
    }

    /**
     * {@code c + a op(b)} as one op, for the rows of {@code a [..., k]} (as a linear layer reads
     * them) and a 2-D {@code b}: {@code [k, n]}, or {@code [n, k]} with {@code transB}; {@code c}
     * has the product's shape {@code [..., n]}. The values of {@code Arithmetic.add(c, matmul(a, b,
     * false, transB))} (the GEMM accumulates into a copy of {@code c}), with one tensor of the
     * output's size less in the graph and in the backward: no separate product is kept, and the
     * output's gradient goes to {@code c} as it is. A LoRA adapter's {@code y + (x A^T s) B^T}.
     */
    public static Tensor addMatmul(Tensor c, Tensor a, Tensor b, boolean transB) {
        if (a.rank() < 2 || b.rank() != 2) {
            throw new IllegalArgumentException("addMatmul needs a of rank >= 2 and a 2-D b, got " + Arrays.toString(a.shape())
                    + " and " + Arrays.toString(b.shape()));
        }
        int k = a.size(-1), kb = transB ? b.size(1) : b.size(0), n = transB ? b.size(0) : b.size(1);
        if (k != kb) {
            throw new IllegalArgumentException("addMatmul: inner dimensions differ: " + Arrays.toString(a.shape()) + " @ "
                    + Arrays.toString(b.shape()) + (transB ? "^T" : ""));
        }
        int[] outShape = a.shape();
        outShape[outShape.length - 1] = n;
        if (!Arrays.equals(c.shape(), outShape)) {
            throw new IllegalArgumentException("addMatmul: c " + Arrays.toString(c.shape()) + " is not the shape of the product "
                    + Arrays.toString(outShape));
        }
        if (a.backend() != b.backend() || c.backend() != a.backend()) {
            throw new IllegalArgumentException("addMatmul: operands on different backends (" + c.backend().name() + ", "
                    + a.backend().name() + ", " + b.backend().name() + ")");
        }
        Backend be = a.backend();
        int rows = a.numel() / k, size = rows * n;
        Storage sa = a.storageOfAnyPrecision(), sb = b.storageOfAnyPrecision();
        Tensor out = Tensor.unfilled(be, outShape);
        be.copy2d(c.storage(), 0, size, out.storage(), 0, size, 1, size, false);
        be.matmul(sa, 0, false, sb, 0, transB, out.storage(), 1, rows, n, k, true);
        if (!Autograd.isRecording(c, a, b)) return out;

        return Autograd.record(out, "addmatmul", () -> {
            Storage g = out.gradBuffer();
            if (Autograd.needsGrad(c)) {
                Storage gc = c.gradBufferToOverwrite();
                if (gc != null) be.copy2d(g, 0, size, gc, 0, size, 1, size, false);
                else be.axpy(1f, g, c.gradBuffer(), size);
            }
            if (Autograd.needsGrad(a)) {
                Storage ga = a.gradBufferToOverwrite();
                be.matmul(g, 0, false, sb, 0, !transB, ga != null ? ga : a.gradBuffer(), 1, rows, k, n, ga == null);
            }
            if (Autograd.needsGrad(b)) {
                Storage gb = b.gradBufferToOverwrite();
                Storage dst = gb != null ? gb : b.gradBuffer();
                if (!transB) be.matmul(sa, 0, true, g, 0, false, dst, 1, k, n, rows, gb == null);
                else be.matmul(g, 0, true, sa, 0, false, dst, 1, n, k, rows, gb == null);
            }
        }, c, a, b);
    }

    /** {@code dst += sum_b src[b]} for {@code src [batch, size]}. */
    private static void addBatchSum(Backend be, Storage src, int batch, int size, Storage dst) {
        Storage sum = be.allocate(size);
        be.sum(src, sum, 1, batch, size);
        be.axpy(1f, sum, dst, size);
    }
}
