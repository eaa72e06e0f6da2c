package dev.aspo.tensor;

import dev.aspo.tensor.cpu.CpuBackend;
import dev.aspo.tensor.cpu.HalfStorage;
import java.util.Arrays;
import java.util.Random;

/**
 * A dense float32 tensor: a shape over a {@link Storage}, plus what autograd needs (whether it
 * wants a gradient, its gradient buffer, and the {@link Node} that made it).
 *
 * <p>Row-major and always contiguous: the only view is {@link #reshape}, which shares the storage
 * (and the gradient buffer) of its source. Everything else that changes layout copies.
 *
 * <p>A frozen weight may be held in bfloat16 or float16 instead ({@link #storeAs}): half the bytes.
 * Only the ops that read weights take such a tensor (matrix multiplies and row lookups, which widen
 * it to float32 as they read it); any other op that meets one stops with an error naming itself
 * and the tensor ({@link #storage()}). A 16-bit tensor never requires a gradient, but gradients
 * still flow through it to the other operand of a matrix multiply.
 */
public final class Tensor {
    private final int[] shape;
    /** Replaced only by {@link #storeAs} and {@link #assign} of a 16-bit tensor. */
    private Storage storage;
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

    /**
     * A tensor for an op to write every element of before anything reads it (its kernel overwrites,
     * it does not accumulate): the same as {@link #zeros} outside a {@link BufferPool#step} scope,
     * inside one a pooled buffer that is not zero-filled first, so its values are an earlier
     * tensor's until the op writes them. For op implementations.
     */
    public static Tensor unfilled(Backend backend, int... shape) {
        checkShape(shape);
        return new Tensor(BufferPool.allocate(backend, Math.toIntExact(numel(shape)), false), shape.clone(), null);
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
        Tensor view = new Tensor(storageOfAnyPrecision(), s, source, !recording);
        if (recording) {
            Autograd.record(view, "reshape", () -> { /* gradient buffer is shared */ }, this);
        }
        return view;
    }

    // ---- data -------------------------------------------------------------------------------

    /**
     * The float32 storage the kernels compute on. A tensor held in 16 bits has none: asking is an
     * error naming the op that asked (the caller) and the tensor, since only the ops that read
     * weights take 16-bit storage ({@link #storageOfAnyPrecision}).
     */
    public Storage storage() {
        checkLive();
        if (storage.precision() != Precision.FLOAT32) throw notFloat32();
        return storage;
    }

    /**
     * The storage in whatever precision it holds: for the ops whose kernels read 16-bit storage
     * (the matrix multiply and the row gather), and for views that only share it.
     */
    public Storage storageOfAnyPrecision() {
        checkLive();
        return storage;
    }

    private void checkLive() {
        if (released || viewOf != null && viewOf.released) {
            throw new IllegalStateException("a tensor of shape " + Arrays.toString(shape) + " computed in a training step"
                    + " was used after its BufferPool.step() scope closed, and its buffer now holds another step's values;"
                    + " read it, or detach() it, inside the step");
        }
    }

    /** The storage without the released check (for {@link BufferPool}'s bookkeeping). */
    Storage storageUnchecked() {
        return storage;
    }

    public Backend backend() {
        return storage.backend();
    }

    /** The format the values are held in: float32 unless {@link #storeAs} made this a frozen 16-bit weight. */
    public Precision precision() {
        return storage.precision();
    }

    /** Bytes the values take in memory ({@code numel} times the bytes of {@link #precision()}). */
    public long storageBytes() {
        return (long) numel() * precision().bytes();
    }

    /** A host copy of the values (widened to float32, exactly, for a 16-bit tensor). */
    public float[] toFloatArray() {
        float[] out = new float[numel()];
        Storage s = storageOfAnyPrecision();
        if (s instanceof HalfStorage h) h.widen(0, out, 0, out.length);
        else backend().download(s, 0, out, out.length);
        return out;
    }

    /** The single value of a one-element tensor. */
    public float item() {
        if (numel() != 1) throw new IllegalStateException("item() of a tensor with shape " + Arrays.toString(shape));
        return toFloatArray()[0];
    }

    /** The same values on {@code target} (a copy; no gradient link). A 16-bit tensor stays on the cpu backend. */
    public Tensor to(Backend target) {
        if (target == backend()) return this;
        if (precision() != Precision.FLOAT32) {
            throw new IllegalArgumentException(describe() + " is held in " + precision().torchName() + ", which only the cpu"
                    + " backend reads; it cannot move to " + target.name() + " (keep the model in float32 there)");
        }
        return Tensor.of(target.upload(toFloatArray()), shape);
    }

    // ---- precision ----------------------------------------------------------------------------

    /** {@link #storeAs(Precision, String)} without a name for error messages. */
    public Tensor storeAs(Precision p) {
        return storeAs(p, null);
    }

    /**
     * Holds this tensor's values in {@code p} from now on, in place, so that whoever refers to the
     * tensor (a module's field, a tied weight) sees the change: float32 to bfloat16 or float16
     * rounds to nearest even and halves the bytes; back to float32 widens exactly. Only a frozen
     * leaf on the cpu backend may change: one that requires a gradient, was computed by an op, is a
     * view, or lives on another backend is refused with the reason. A reshape view made earlier
     * keeps the old storage. {@code name} (nullable) names the tensor in later error messages.
     */
    public Tensor storeAs(Precision p, String name) {
        checkLive();
        String what = name != null ? name + " " + Arrays.toString(shape) : describe();
        if (p == precision()) return this;
        if (viewOf != null) throw new IllegalStateException(what + " is a reshape view; convert the tensor it views");
        if (node != null) {
            throw new IllegalStateException(what + " was computed by " + node.op() + "; only a leaf (a weight) changes precision");
        }
        if (requiresGrad) {
            throw new IllegalStateException(what + " requires a gradient: only a frozen weight is held in " + p.torchName()
                    + " (requiresGrad(false) first)");
        }
        if (backend() != CpuBackend.INSTANCE) {
            throw new IllegalArgumentException(what + " is on " + backend().name() + ": " + p.torchName()
                    + " weights are held and read by the cpu backend only");
        }
        float[] values = toFloatArray();
        storage = p == Precision.FLOAT32 ? CpuBackend.INSTANCE.upload(values) : HalfStorage.round(values, p, name);
        grad = null;
        spareGrad = null;
        return this;
    }

    /**
     * Replaces the values by {@code values} (same shape, any backend or precision), converted to
     * this tensor's backend and precision: a weight loaded into a model. Into a 16-bit tensor the
     * values are rounded (a 16-bit source of the same precision is shared as it is, no copy: 16-bit
     * storage is never written).
     */
    public void assign(Tensor values) {
        checkLive();
        if (!Arrays.equals(shape, values.shape)) {
            throw new IllegalArgumentException("assign: shape " + Arrays.toString(values.shape) + " does not match "
                    + Arrays.toString(shape));
        }
        if (precision() == Precision.FLOAT32) {
            Tensor src = values.backend() == backend() && values.precision() == Precision.FLOAT32 ? values
                    : Tensor.of(backend().upload(values.toFloatArray()), shape);
            backend().copy2d(src.storage(), 0, numel(), storage, 0, numel(), 1, numel(), false);
            return;
        }
        if (viewOf != null) throw new IllegalStateException(describe() + " is a reshape view; assign to the tensor it views");
        String name = storage instanceof HalfStorage h ? h.name() : null;
        storage = values.storageOfAnyPrecision() instanceof HalfStorage h && h.precision() == precision() ? h.named(name)
                : HalfStorage.round(values.toFloatArray(), precision(), name);
    }

    /** {@code name [shape]} for a named 16-bit weight, else {@code a tensor [shape]}: for error messages. */
    private String describe() {
        String name = storage instanceof HalfStorage h ? h.name() : null;
        return (name != null ? name : "a tensor") + " " + Arrays.toString(shape);
    }

    /** The error of an op that meets a 16-bit tensor, naming the op: the first caller outside this class. */
    private IllegalArgumentException notFloat32() {
        String op = StackWalker.getInstance().walk(frames -> frames
                .filter(f -> !f.getClassName().equals(Tensor.class.getName()))
                .findFirst()
                .map(f -> f.getMethodName().equals("<init>") ? "new " + simpleName(f.getClassName())
                        : simpleName(f.getClassName()) + "." + methodName(f.getMethodName()))
                .orElse("an op"));
        return new IllegalArgumentException(op + " cannot read " + describe() + ": it is held in " + precision().torchName()
                + " (a frozen weight), and only matrix multiplies and row lookups (embeddings) read "
                + precision().torchName() + "; keep this tensor in float32 (leave it out of the " + precision().torchName()
                + " conversion) to use it here");
    }

    private static String simpleName(String className) {
        return className.substring(className.lastIndexOf('.') + 1).replace('$', '.');
    }

    /** {@code lambda$binary$0} (a backward closure) reads as {@code binary}. */
    private static String methodName(String m) {
        if (!m.startsWith("lambda$")) return m;
        String rest = m.substring("lambda$".length());
        int end = rest.indexOf('$');
        return end <= 0 ? m : rest.substring(0, end);
    }

    // ---- autograd ---------------------------------------------------------------------------

    public boolean requiresGrad() {
        return requiresGrad;
    }

    /** Marks a leaf (a parameter or an input) as wanting a gradient. A 16-bit tensor cannot. */
    public Tensor requiresGrad(boolean on) {
        if (node != null && !on) throw new IllegalStateException("cannot turn off gradients of a non-leaf tensor; use detach()");
        if (on && precision() != Precision.FLOAT32) {
            throw new IllegalStateException(describe() + " is held in " + precision().torchName() + ", which is for frozen"
                    + " weights: it cannot require a gradient (storeAs(Precision.FLOAT32) first to train it)");
        }
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
        return grad != null ? grad : newGrad(true);
    }

    /**
     * The gradient buffer for a backward kernel that can overwrite instead of accumulating (a GEMM
     * without accumulation): when no gradient has reached this tensor yet, its new buffer, not
     * zero-filled inside a {@link BufferPool#step} scope, which the caller must write in full;
     * otherwise null, and the caller accumulates into {@link #gradBuffer()}. For op implementations.
     */
    public Storage gradBufferToOverwrite() {
        if (viewOf != null) return viewOf.gradBufferToOverwrite();
        return grad != null ? null : newGrad(false);
    }

    /** This tensor's first gradient buffer: the spare one {@link #zeroGrad()} kept, else a new one; zeroed or left for an overwrite. */
    private Storage newGrad(boolean zeroed) {
        if (spareGrad != null) {
            grad = spareGrad;
            spareGrad = null;
            if (zeroed) backend().fill(grad, 0, numel(), 0f);
            else BufferPool.handedOutUnfilled(grad);
        } else {
            grad = Autograd.allocateGrad(backend(), numel(), zeroed);
        }
        gradShared = false;
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
        return new Tensor(storageOfAnyPrecision(), shape, null);
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
