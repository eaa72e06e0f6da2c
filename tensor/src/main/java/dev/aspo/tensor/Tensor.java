package dev.aspo.tensor;

import java.util.Arrays;
import java.util.Random;

/**
 * A dense float32 tensor: a shape over a {@link Storage}, plus what autograd needs (whether it
 * wants a gradient, its gradient buffer, and the {@link Node} that made it).
 *
 * <p>Row-major and always contiguous: the only view is {@link #reshape}, which shares the storage
 * (and the gradient buffer) of its source. Everything else that changes layout copies.
 */
public final class Tensor {
    private final int[] shape;
    private final Storage storage;
    private boolean requiresGrad;
    private Storage grad;
    /** For a reshape view: the tensor whose storage and gradient buffer this one shares. */
    private final Tensor viewOf;
    /** Set when {@link BufferPool} took the storage back at the end of a step scope. */
    private boolean released;
    /**
     * The gradient buffer {@link #zeroGrad()} dropped, for the next {@link #gradBuffer()} to zero and
     * reuse (a parameter's gradient has the same size every step); kept only when no {@link #grad()}
     * tensor was made of it, which a caller might still be reading.
     */
    private Storage spareGrad;
    /** {@link #grad()} wrapped the current gradient buffer in a tensor: {@link #zeroGrad()} must not reuse it. */
    private boolean gradShared;
    Node node;

    private Tensor(Storage storage, int[] shape, Tensor viewOf) {
        this(storage, shape, viewOf, true);
    }

    /** {@code ownsWrap}: false only for a recorded reshape view, which belongs to the graph of its source. */
    private Tensor(Storage storage, int[] shape, Tensor viewOf, boolean ownsWrap) {
        this.shape = shape;
        this.storage = storage;
        this.viewOf = viewOf;
        long n = numel(shape);
        if (n != storage.size()) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " holds " + n
                    + " elements but the storage has " + storage.size());
        }
        if (ownsWrap) BufferPool.wrapped(this, storage);
    }

    // ---- creation ---------------------------------------------------------------------------

    /** Wraps a storage (no copy). */
    public static Tensor of(Storage storage, int... shape) {
        return new Tensor(storage, shape.clone(), null);
    }

    /** A tensor holding a copy of {@code data}, on the default backend. */
    public static Tensor of(float[] data, int... shape) {
        checkShape(shape);
        if (numel(shape) != data.length) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " needs "
                    + numel(shape) + " values, got " + data.length);
        }
        return new Tensor(Backends.current().upload(data), shape.clone(), null);
    }

    public static Tensor scalar(float value) {
        return of(new float[] {value}, 1);
    }

    public static Tensor zeros(int... shape) {
        return zeros(Backends.current(), shape);
    }

    public static Tensor zeros(Backend backend, int... shape) {
        checkShape(shape);
        return new Tensor(BufferPool.allocate(backend, Math.toIntExact(numel(shape))), shape.clone(), null);
    }

    public static Tensor full(float value, int... shape) {
        Tensor t = zeros(shape);
        t.backend().fill(t.storage, 0, t.numel(), value);
        return t;
    }

    /** Normal(0, std^2) entries from {@code rng}. */
    public static Tensor randn(Random rng, float std, int... shape) {
        checkShape(shape);
        float[] data = new float[Math.toIntExact(numel(shape))];
        for (int i = 0; i < data.length; i++) data[i] = (float) (rng.nextGaussian() * std);
        return of(data, shape);
    }

    /** Uniform entries in {@code [lo, hi)} from {@code rng}. */
    public static Tensor uniform(Random rng, float lo, float hi, int... shape) {
        checkShape(shape);
        float[] data = new float[Math.toIntExact(numel(shape))];
        for (int i = 0; i < data.length; i++) data[i] = lo + (hi - lo) * rng.nextFloat();
        return of(data, shape);
    }

    // ---- shape ------------------------------------------------------------------------------

    public int[] shape() {
        return shape.clone();
    }

    public int rank() {
        return shape.length;
    }

    /** Size of dimension {@code d}; negative {@code d} counts from the end. */
    public int size(int d) {
        return shape[axis(d)];
    }

    /** Normalises a possibly negative axis and checks it. */
    public int axis(int d) {
        int a = d < 0 ? d + shape.length : d;
        if (a < 0 || a >= shape.length) {
            throw new IllegalArgumentException("axis " + d + " out of range for shape " + Arrays.toString(shape));
        }
        return a;
    }

    public int numel() {
        return storage.size();
    }

    public static long numel(int[] shape) {
        long n = 1;
        for (int s : shape) n *= s;
        return n;
    }

    private static void checkShape(int[] shape) {
        for (int s : shape) {
            if (s < 0) throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
        }
        if (numel(shape) > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " exceeds 2^31-1 elements");
        }
    }

    /**
     * A view with another shape over the same storage; one dimension may be -1 (inferred).
     * Gradients flow through unchanged (the view shares its source's gradient buffer).
     */
    public Tensor reshape(int... newShape) {
        int[] s = newShape.clone();
        int infer = -1;
        long known = 1;
        for (int i = 0; i < s.length; i++) {
            if (s[i] == -1) {
                if (infer >= 0) throw new IllegalArgumentException("reshape: more than one -1 in " + Arrays.toString(newShape));
                infer = i;
            } else {
                if (s[i] < 0) throw new IllegalArgumentException("reshape: bad dimension in " + Arrays.toString(newShape));
                known *= s[i];
            }
        }
        if (infer >= 0) {
            if (known == 0 || numel() % known != 0) {
                throw new IllegalArgumentException("reshape: cannot view " + Arrays.toString(shape) + " as " + Arrays.toString(newShape));
            }
            s[infer] = (int) (numel() / known);
        }
        if (numel(s) != numel()) {
            throw new IllegalArgumentException("reshape: cannot view " + Arrays.toString(shape) + " (" + numel()
                    + " elements) as " + Arrays.toString(newShape));
        }
        Tensor source = viewOf != null ? viewOf : this;
        boolean recording = Autograd.isRecording(this);
        Tensor view = new Tensor(storage(), s, source, !recording);
        if (recording) {
            Autograd.record(view, "reshape", () -> { /* gradient buffer is shared */ }, this);
        }
        return view;
    }

    // ---- data -------------------------------------------------------------------------------

    public Storage storage() {
        if (released || viewOf != null && viewOf.released) {
            throw new IllegalStateException("a tensor of shape " + Arrays.toString(shape) + " computed in a training step"
                    + " was used after its BufferPool.step() scope closed, and its buffer now holds another step's values;"
                    + " read it, or detach() it, inside the step");
        }
        return storage;
    }

    /** The storage without the released check (for {@link BufferPool}'s bookkeeping). */
    Storage storageUnchecked() {
        return storage;
    }

    public Backend backend() {
        return storage.backend();
    }

    /** A host copy of the values. */
    public float[] toFloatArray() {
        float[] out = new float[numel()];
        backend().download(storage(), 0, out, out.length);
        return out;
    }

    /** The single value of a one-element tensor. */
    public float item() {
        if (numel() != 1) throw new IllegalStateException("item() of a tensor with shape " + Arrays.toString(shape));
        float[] out = new float[1];
        backend().download(storage(), 0, out, 1);
        return out[0];
    }

    /** The same values on {@code target} (a copy; no gradient link). */
    public Tensor to(Backend target) {
        if (target == backend()) return this;
        return Tensor.of(target.upload(toFloatArray()), shape);
    }

    // ---- autograd ---------------------------------------------------------------------------

    public boolean requiresGrad() {
        return requiresGrad;
    }

    /** Marks a leaf (a parameter or an input) as wanting a gradient. */
    public Tensor requiresGrad(boolean on) {
        if (node != null && !on) throw new IllegalStateException("cannot turn off gradients of a non-leaf tensor; use detach()");
        this.requiresGrad = on;
        return this;
    }

    /** The accumulated gradient, or null if none has reached this tensor. */
    public Tensor grad() {
        Tensor owner = viewOf != null ? viewOf : this;
        if (owner.grad == null) return null;
        owner.gradShared = true;
        return new Tensor(owner.grad, shape, null);
    }

    /**
     * The gradient buffer itself, or null if none has reached this tensor: for optimisers and
     * gradient clipping, which use it during the call and keep no reference. Unlike {@link #grad()}
     * it leaves {@link #zeroGrad()} free to reuse the buffer.
     */
    public Storage gradStorage() {
        return viewOf != null ? viewOf.grad : grad;
    }

    /** The gradient buffer, allocated (zeroed) on first use. For op implementations. */
    public Storage gradBuffer() {
        if (viewOf != null) return viewOf.gradBuffer();
        if (grad == null) {
            if (spareGrad != null) {
                grad = spareGrad;
                spareGrad = null;
                backend().fill(grad, 0, numel(), 0f);
            } else {
                grad = Autograd.allocateGrad(backend(), numel());
            }
            gradShared = false;
        }
        return grad;
    }

    boolean hasGrad() {
        return (viewOf != null ? viewOf.grad : grad) != null;
    }

    /** Drops the gradient (the next backward starts from zero). */
    public void zeroGrad() {
        if (viewOf != null) {
            viewOf.zeroGrad();
            return;
        }
        if (grad != null && !gradShared) spareGrad = grad;
        grad = null;
        gradShared = false;
    }

    /**
     * Detaches and returns this tensor's own gradient buffer (null for a view, whose buffer is its
     * source's, or when there is none). For the backward pass, to reuse the buffer.
     */
    Storage takeOwnGrad() {
        if (viewOf != null) return null;
        Storage g = grad;
        grad = null;
        return g;
    }

    void releaseGrad() {
        grad = null;
    }

    /** The op that produced this tensor, or null for a leaf. */
    public Node node() {
        return node;
    }

    /** Back-propagates from this one-element tensor (d this / d this = 1). */
    public void backward() {
        if (numel() != 1) {
            throw new IllegalStateException("backward() needs a one-element tensor, got shape " + Arrays.toString(shape)
                    + "; pass the output gradient with backward(gradient)");
        }
        Autograd.backward(this, null);
    }

    /** Back-propagates with {@code gradient} as d loss / d this. */
    public void backward(Tensor gradient) {
        if (!Arrays.equals(gradient.shape, shape)) {
            throw new IllegalArgumentException("gradient shape " + Arrays.toString(gradient.shape)
                    + " does not match tensor shape " + Arrays.toString(shape));
        }
        Autograd.backward(this, gradient);
    }

    /** The same values, cut from the graph (shares storage). */
    public Tensor detach() {
        return new Tensor(storage(), shape, null);
    }

    /**
     * A leaf over this tensor's storage that shares its gradient buffer, with {@code wantsGrad} as
     * its {@link #requiresGrad()}: what a {@link Checkpoint}ed layer is recomputed on, so that its
     * graph ends there and its gradients land in this tensor's buffer as if the layer had been
     * recorded on this tensor. Not counted as a wrapper of the storage (it lives only in the recomputation).
     */
    Tensor gradientAlias(boolean wantsGrad) {
        Tensor a = new Tensor(storage(), shape, viewOf != null ? viewOf : this, false);
        a.requiresGrad = wantsGrad;
        return a;
    }

    boolean isView() {
        return viewOf != null;
    }

    /** {@link BufferPool} took the storage back: from now on this tensor (and its views) may not be read. */
    void release() {
        released = true;
    }

    @Override
    public String toString() {
        if (released || viewOf != null && viewOf.released) {
            return "Tensor" + Arrays.toString(shape) + " (buffer handed back at the end of its training step)";
        }
        float[] v = toFloatArray();
        StringBuilder sb = new StringBuilder("Tensor").append(Arrays.toString(shape)).append(" [");
        for (int i = 0; i < Math.min(v.length, 8); i++) sb.append(i == 0 ? "" : ", ").append(v[i]);
        if (v.length > 8) sb.append(", ...");
        sb.append(']');
        if (node != null) sb.append(" from ").append(node.op());
        else if (requiresGrad) sb.append(" requires grad");
        return sb.toString();
    }
}
