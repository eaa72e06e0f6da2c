package dev.aspo.tensor.ops;

import dev.aspo.tensor.Autograd;
import dev.aspo.tensor.Backend;
import dev.aspo.tensor.Storage;
import dev.aspo.tensor.Tensor;
import java.util.Arrays;

/**
 * Sum, mean and max over all elements or one axis. The axis splits the tensor into
 * {@code [outer, dim, inner]} (products of the axes before it, its size, the axes after it), which
 * is all the kernels see. Without {@code keepDim} the axis is removed; a result with no axes left
 * has shape {@code [1]}, as does a reduction over everything.
 */
public final class Reductions {
    private Reductions() {}

    /** Sum of all elements, shape {@code [1]}. */
    public static Tensor sum(Tensor x) {
        return reduceSum("sum", x, 1, x.numel(), 1, new int[] {1}, 1f);
    }

    public static Tensor sum(Tensor x, int axis, boolean keepDim) {
        int a = x.axis(axis);
        int[] s = x.shape();
        return reduceSum("sum", x, outer(s, a), s[a], inner(s, a), reducedShape(s, a, keepDim), 1f);
    }

    /** Mean of all elements, shape {@code [1]} (NaN for an empty tensor, as torch). */
    public static Tensor mean(Tensor x) {
        return reduceSum("mean", x, 1, x.numel(), 1, new int[] {1}, 1f / x.numel());
    }

    public static Tensor mean(Tensor x, int axis, boolean keepDim) {
        int a = x.axis(axis);
        int[] s = x.shape();
        return reduceSum("mean", x, outer(s, a), s[a], inner(s, a), reducedShape(s, a, keepDim), 1f / s[a]);
    }

    /**
     * Maximum along {@code axis}. The gradient goes to the maximal element only (the first one on
     * ties; a NaN is the maximum, as in torch).
     */
    public static Tensor max(Tensor x, int axis, boolean keepDim) {
        int a = x.axis(axis);
        int[] s = x.shape();
        int outer = outer(s, a), dim = s[a], inner = inner(s, a);
        if (dim == 0) {
            throw new IllegalArgumentException("max: axis " + axis + " of " + Arrays.toString(s) + " is empty");
        }
        if (dim > 1 << 24) {   // the kernel returns the argmax as a float
            throw new IllegalArgumentException("max: axis " + axis + " of " + Arrays.toString(s)
                    + " is longer than 2^24, beyond exact float indices");
        }
        Backend be = x.backend();
        Tensor out = Tensor.zeros(be, reducedShape(s, a, keepDim));
        boolean grad = Autograd.isRecording(x);
        Storage argmax = grad ? Autograd.allocateSaved(be, out.numel()) : null;   // only the backward reads it
        be.max(x.storage(), out.storage(), argmax, outer, dim, inner);
        if (!grad) return out;

        // dx[o, argmax, i] += dy[o, i], on the backend (the argmax never leaves it)
        return Autograd.record(out, "max", () -> be.maxBackward(out.gradBuffer(), argmax, x.gradBuffer(), outer, dim, inner),
                new Storage[] {argmax}, x);
    }

    /** {@code out = scale * sum_d x[o, d, i]}; backward {@code dx[o, d, i] += scale * dout[o, i]}. */
    private static Tensor reduceSum(String name, Tensor x, int outer, int dim, int inner, int[] outShape, float scale) {
        Backend be = x.backend();
        Tensor out = Tensor.zeros(be, outShape);
        be.sum(x.storage(), out.storage(), outer, dim, inner);
        if (scale != 1f) be.scale(out.storage(), out.numel(), scale);
        if (!Autograd.isRecording(x)) return out;

        return Autograd.record(out, name, () -> {
            Storage g = out.gradBuffer();
            if (scale != 1f) {
                Storage scaled = be.allocate(out.numel());
                be.axpy(scale, g, scaled, out.numel());
                g = scaled;
            }
            be.sumBackward(g, x.gradBuffer(), outer, dim, inner);
        }, x);
    }

    private static int outer(int[] s, int axis) {
        int n = 1;
        for (int d = 0; d < axis; d++) n *= s[d];
        return n;
    }

    private static int inner(int[] s, int axis) {
        int n = 1;
        for (int d = axis + 1; d < s.length; d++) n *= s[d];
        return n;
    }

    private static int[] reducedShape(int[] s, int axis, boolean keepDim) {
        if (keepDim) {
            int[] out = s.clone();
            out[axis] = 1;
            return out;
        }
        if (s.length == 1) return new int[] {1};
        int[] out = new int[s.length - 1];
        for (int d = 0, k = 0; d < s.length; d++) if (d != axis) out[k++] = s[d];
        return out;
    }
}
