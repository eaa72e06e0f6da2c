package dev.aspo.tensor.ops;

import dev.aspo.tensor.Autograd;
import dev.aspo.tensor.Backend;
import dev.aspo.tensor.Tensor;
import java.util.Arrays;

/**
 * Layout changes that copy (tensors are always contiguous; only {@link Tensor#reshape} is a view):
 * permute/transpose, concat and slice. Each backward is the opposite movement, accumulated.
 *
 * <p>Concat and slice along an axis see every tensor as {@code [outer, axisLen * inner]}: a
 * slab per outer index, so both are one {@link Backend#copy2d} per input.
 */
public final class Shapes {
    private Shapes() {}

    /** Output axis {@code i} is input axis {@code perm[i]} (as {@code torch.permute}). */
    public static Tensor permute(Tensor x, int... perm) {
        int n = x.rank();
        if (perm.length != n) {
            throw new IllegalArgumentException("permute: " + Arrays.toString(perm) + " does not permute the " + n
                    + " axes of " + Arrays.toString(x.shape()));
        }
        int[] p = new int[n], inverse = new int[n];
        boolean[] seen = new boolean[n];
        for (int i = 0; i < n; i++) {
            int a = perm[i] < 0 ? perm[i] + n : perm[i];
            if (a < 0 || a >= n || seen[a]) {
                throw new IllegalArgumentException("permute: " + Arrays.toString(perm) + " is not a permutation of the axes of "
                        + Arrays.toString(x.shape()));
            }
            seen[a] = true;
            p[i] = a;
            inverse[a] = i;
        }
        int[] shape = x.shape(), outShape = new int[n];
        for (int i = 0; i < n; i++) outShape[i] = shape[p[i]];

        Backend be = x.backend();
        Tensor out = Tensor.unfilled(be, outShape);
        be.permute(x.storage(), shape, p, out.storage(), false);
        if (!Autograd.isRecording(x)) return out;

        return Autograd.record(out, "permute",
                () -> be.permute(out.gradBuffer(), outShape, inverse, x.gradBuffer(), true), x);
    }

    /** Swaps axes {@code a} and {@code b} (negative counts from the end). */
    public static Tensor transpose(Tensor x, int a, int b) {
        int[] perm = new int[x.rank()];
        for (int i = 0; i < perm.length; i++) perm[i] = i;
        int ia = x.axis(a), ib = x.axis(b);
        perm[ia] = ib;
        perm[ib] = ia;
        return permute(x, perm);
    }

    /** Joins tensors along {@code axis}; all other axes must agree. */
    public static Tensor concat(int axis, Tensor... xs) {
        if (xs.length == 0) throw new IllegalArgumentException("concat: no tensors given");
        Tensor first = xs[0];
        int ax = first.axis(axis);
        int sum = 0;
        for (Tensor t : xs) {
            boolean ok = t.rank() == first.rank();
            for (int d = 0; ok && d < first.rank(); d++) ok = d == ax || t.size(d) == first.size(d);
            if (!ok) {
                StringBuilder sb = new StringBuilder();
                for (Tensor u : xs) sb.append(sb.length() == 0 ? "" : ", ").append(Arrays.toString(u.shape()));
                throw new IllegalArgumentException("concat along axis " + axis + ": shapes must agree except on that axis: "
                        + sb);
            }
            sum += t.size(ax);
        }
        int total = sum;
        int[] outShape = first.shape();
        outShape[ax] = total;
        int outer = outer(outShape, ax), inner = inner(outShape, ax);

        Backend be = first.backend();
        Tensor out = Tensor.unfilled(be, outShape);
        int[] offsets = new int[xs.length];
        for (int i = 0, off = 0; i < xs.length; i++) {
            offsets[i] = off;
            int len = xs[i].size(ax) * inner;
            if (len > 0 && outer > 0) {
                be.copy2d(xs[i].storage(), 0, len, out.storage(), off, total * inner, outer, len, false);
            }
            off += len;
        }
        Tensor[] inputs = xs.clone();
        if (!Autograd.isRecording(inputs)) return out;

        return Autograd.record(out, "concat", () -> {
            for (int i = 0; i < inputs.length; i++) {
                int len = inputs[i].size(ax) * inner;
                if (Autograd.needsGrad(inputs[i]) && len > 0 && outer > 0) {
                    be.copy2d(out.gradBuffer(), offsets[i], total * inner, inputs[i].gradBuffer(), 0, len, outer, len, true);
                }
            }
        }, inputs);
    }

    /** {@code x} restricted to {@code [start, end)} along {@code axis} (negative axis counts from the end). */
    public static Tensor slice(Tensor x, int axis, int start, int end) {
        int ax = x.axis(axis), size = x.size(ax);
        if (start < 0 || start > end || end > size) {
            throw new IllegalArgumentException("slice: [" + start + ", " + end + ") is not within [0, " + size + "] on axis "
                    + axis + " of " + Arrays.toString(x.shape()));
        }
        int[] outShape = x.shape();
        outShape[ax] = end - start;
        int outer = outer(outShape, ax), inner = inner(outShape, ax);
        int len = (end - start) * inner, srcLd = size * inner, srcOff = start * inner;

        Backend be = x.backend();
        Tensor out = Tensor.unfilled(be, outShape);
        if (len > 0 && outer > 0) be.copy2d(x.storage(), srcOff, srcLd, out.storage(), 0, len, outer, len, false);
        if (!Autograd.isRecording(x)) return out;

        return Autograd.record(out, "slice", () -> {
            if (len > 0 && outer > 0) be.copy2d(out.gradBuffer(), 0, len, x.gradBuffer(), srcOff, srcLd, outer, len, true);
        }, x);
    }

    private static int outer(int[] shape, int axis) {
        int n = 1;
        for (int d = 0; d < axis; d++) n *= shape[d];
        return n;
    }

    private static int inner(int[] shape, int axis) {
        int n = 1;
        for (int d = axis + 1; d < shape.length; d++) n *= shape[d];
        return n;
    }
}
