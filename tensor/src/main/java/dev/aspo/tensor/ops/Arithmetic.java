package dev.aspo.tensor.ops;

import dev.aspo.tensor.Autograd;
import dev.aspo.tensor.Backend;
import dev.aspo.tensor.BinaryOp;
import dev.aspo.tensor.Tensor;
import java.util.Arrays;
import java.util.Locale;

/**
 * Elementwise arithmetic with numpy broadcasting, and the scalar forms {@code alpha x + beta}.
 *
 * <pre>
 *   a [2, 1, 4]          shapes align on the right; an axis of size 1, or a missing one,
 *   b    [3, 1]          is repeated to match the other side (stride 0 in the kernel)
 *   out [2, 3, 4]
 * </pre>
 *
 * Backward: each side's gradient is {@code dout * d(a op b)/d(side)} summed over the axes that
 * side was broadcast along, so it comes back in the side's own shape.
 */
public final class Arithmetic {
    private Arithmetic() {}

    public static Tensor add(Tensor a, Tensor b) {
        return binary(BinaryOp.ADD, a, b);
    }

    public static Tensor sub(Tensor a, Tensor b) {
        return binary(BinaryOp.SUB, a, b);
    }

    public static Tensor mul(Tensor a, Tensor b) {
        return binary(BinaryOp.MUL, a, b);
    }

    public static Tensor div(Tensor a, Tensor b) {
        return binary(BinaryOp.DIV, a, b);
    }

    public static Tensor binary(BinaryOp op, Tensor a, Tensor b) {
        String name = op.name().toLowerCase(Locale.ROOT);
        if (a.backend() != b.backend()) {
            throw new IllegalArgumentException(name + ": operands on different backends (" + a.backend().name()
                    + " and " + b.backend().name() + ")");
        }
        int[] outShape = broadcastShape(name, a.shape(), b.shape());
        int[] aStrides = broadcastStrides(a.shape(), outShape), bStrides = broadcastStrides(b.shape(), outShape);
        Backend be = a.backend();
        Tensor out = Tensor.unfilled(be, outShape);
        be.binary(op, a.storage(), aStrides, b.storage(), bStrides, out.storage(), outShape);
        if (!Autograd.isRecording(a, b)) return out;

        return Autograd.record(out, name, () -> {
            if (Autograd.needsGrad(a)) {
                be.binaryBackward(op, 0, a.storage(), aStrides, b.storage(), bStrides, out.gradBuffer(), outShape,
                        a.gradBuffer());
            }
            if (Autograd.needsGrad(b)) {
                be.binaryBackward(op, 1, a.storage(), aStrides, b.storage(), bStrides, out.gradBuffer(), outShape,
                        b.gradBuffer());
            }
        }, a, b);
    }

    /** {@code alpha * x}. */
    public static Tensor scale(Tensor x, float alpha) {
        return affine(x, alpha, 0f);
    }

    /** {@code x + c}. */
    public static Tensor addScalar(Tensor x, float c) {
        return affine(x, 1f, c);
    }

    /** {@code alpha * x + beta}; backward {@code dx += alpha * dy}. */
    public static Tensor affine(Tensor x, float alpha, float beta) {
        Backend be = x.backend();
        Tensor out = Tensor.unfilled(be, x.shape());
        be.affine(x.storage(), out.storage(), x.numel(), alpha, beta);
        if (!Autograd.isRecording(x)) return out;

        return Autograd.record(out, "affine", () -> be.axpy(alpha, out.gradBuffer(), x.gradBuffer(), x.numel()), x);
    }

    /** The numpy broadcast of two shapes; {@code op} names the operation in the error message. */
    public static int[] broadcastShape(String op, int[] a, int[] b) {
        int rank = Math.max(a.length, b.length);
        int[] out = new int[rank];
        for (int i = 1; i <= rank; i++) {
            int da = i <= a.length ? a[a.length - i] : 1, db = i <= b.length ? b[b.length - i] : 1;
            if (da != db && da != 1 && db != 1) {
                throw new IllegalArgumentException(op + ": cannot broadcast " + Arrays.toString(a) + " with "
                        + Arrays.toString(b) + ": axis " + -i + " has sizes " + da + " and " + db
                        + " (they must match, or one must be 1)");
            }
            out[rank - i] = da == 1 ? db : da;
        }
        return out;
    }

    /** Strides of a contiguous tensor of {@code shape} laid over {@code outShape}: 0 where broadcast. */
    public static int[] broadcastStrides(int[] shape, int[] outShape) {
        int[] strides = new int[outShape.length];
        int stride = 1;
        for (int i = 1; i <= shape.length; i++) {
            int d = shape[shape.length - i];
            strides[outShape.length - i] = d == 1 && outShape[outShape.length - i] != 1 ? 0 : stride;
            stride *= d;
        }
        return strides;
    }
}
