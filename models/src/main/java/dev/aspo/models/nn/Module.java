package dev.aspo.models.nn;

import dev.aspo.tensor.Precision;
import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.cpu.HalfStorage;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

/**
 * A tree of named parameters, as torch's {@code nn.Module}: a layer registers its parameters
 * and its child layers under the names Hugging Face uses, so {@link #namedParameters()} yields
 * exactly the names a {@code save_pretrained} checkpoint holds (before any layout mapping).
 *
 * <p>Parameters are created once, zero-filled, and keep their tensor for the module's life:
 * loading copies values into them ({@link #copyFrom}), so references held by an optimiser stay valid.
 *
 * <p>Frozen matrices may be held in bfloat16 or float16, half the bytes ({@link #toDtype}, or
 * {@link #matricesIn} while a model is made so that they are never float32 at all): the matrix
 * multiplies and embedding lookups that read them widen them on the fly; everything else, and
 * every parameter that trains, stays float32.
 */
public abstract class Module {
    private final Map<String, Tensor> params = new LinkedHashMap<>();
    private final Map<String, Module> children = new LinkedHashMap<>();

    /** The precision {@link #matricesIn} set for matrices made on this thread (float32 outside a scope). */
    private static final ThreadLocal<Precision> NEW_MATRICES = ThreadLocal.withInitial(() -> Precision.FLOAT32);

    /** What a new 16-bit matrix holds: zeros, or the values of a {@link #matricesIn(Precision, MatrixValues)} scope. */
    private static final MatrixValues ZEROS = (p, shape) -> new short[Math.toIntExact(Tensor.numel(shape))];   // +0 in both formats
    private static final ThreadLocal<MatrixValues> NEW_VALUES = ThreadLocal.withInitial(() -> ZEROS);

    /** The values of each matrix parameter made in a {@link #matricesIn(Precision, MatrixValues)} scope. */
    @FunctionalInterface
    public interface MatrixValues {
        /**
         * The bit patterns, in {@code p} and row-major, of a new matrix of {@code shape}: handed
         * over to the parameter, which is never written afterwards.
         */
        short[] make(Precision p, int[] shape);
    }

    /**
     * Registers a zero-filled parameter (requires a gradient) and returns it; inside a
     * {@link #matricesIn} scope a matrix (rank 2 or more) is made frozen in that scope's precision instead,
     * holding zeros or the values the scope makes.
     */
    protected final Tensor parameter(String name, int... shape) {
        if (params.containsKey(name) || children.containsKey(name)) {
            throw new IllegalStateException(getClass().getSimpleName() + ": name " + name + " is taken");
        }
        Precision p = NEW_MATRICES.get();
        Tensor t = p != Precision.FLOAT32 && shape.length >= 2
                ? Tensor.of(HalfStorage.wrap(checked(NEW_VALUES.get().make(p, shape.clone()), shape), p, null), shape)
                : Tensor.zeros(shape).requiresGrad(true);
        params.put(name, t);
        return t;
    }

    /** Closes a {@link #matricesIn} scope. */
    public interface Scope extends AutoCloseable {
        @Override
        void close();
    }

    /**
     * Until the scope closes, modules made on this thread create their matrix parameters (rank 2
     * or more: linear and embedding weights, convolution kernels) frozen and held in {@code p},
     * never in float32, so that a model whose float32 weights would not fit the heap can be made
     * and loaded ({@code load(dir, dtype)} of each model); vectors and scalars (norms, biases) stay
     * float32 and trainable. Float32 changes nothing. {@code try (var s = Module.matricesIn(p)) {...}}
     */
    public static Scope matricesIn(Precision p) {
        return newMatrices(p, ZEROS);
    }

    /**
     * As {@link #matricesIn(Precision)}, with each new matrix holding what {@code values} makes for
     * it instead of zeros: a model too large for float32 made with its weights (random ones, say)
     * written once, in 16 bits, one matrix at a time. {@code p} must be bfloat16 or float16.
     */
    public static Scope matricesIn(Precision p, MatrixValues values) {
        if (p == Precision.FLOAT32) {
            throw new IllegalArgumentException("matricesIn: values are made for 16-bit matrices; float32 ones are made as zeros and assigned");
        }
        return newMatrices(p, values);
    }

    /** Sets this thread's format and values for new matrices until the returned scope closes, which restores the ones before. */
    private static Scope newMatrices(Precision p, MatrixValues values) {
        Precision before = NEW_MATRICES.get();
        MatrixValues beforeValues = NEW_VALUES.get();
        NEW_MATRICES.set(p);
        NEW_VALUES.set(values);
        return () -> {
            NEW_MATRICES.set(before);
            NEW_VALUES.set(beforeValues);
        };
    }

    private static short[] checked(short[] bits, int[] shape) {
        if (bits.length != Tensor.numel(shape)) {
            throw new IllegalStateException("matricesIn: " + bits.length + " values made for a matrix of " + Arrays.toString(shape));
        }
        return bits;
    }

    /**
     * Holds the selected matrix parameters (rank 2 or more: linear and embedding weights,
     * convolution kernels) in {@code p}, frozen: each stops requiring a gradient and, in bfloat16
     * or float16, takes half the bytes (rounded to nearest even). Vectors and scalars (norms,
     * biases, CLIP's logit scale) are read by elementwise ops that compute in float32 and stay as
     * they are, as does every parameter {@code select} (given the dotted name) leaves out. With
     * float32, selected 16-bit matrices are widened back (exactly), still frozen. Parameters must
     * be on the cpu backend. Returns the bytes this frees (negative when widening).
     */
    public final long toDtype(Precision p, Predicate<String> select) {
        long before = parameterBytes();
        for (var e : namedParameters().entrySet()) {
            Tensor t = e.getValue();
            if (t.rank() < 2 || !select.test(e.getKey()) || t.precision() == p) continue;
            t.requiresGrad(false);
            t.storeAs(p, e.getKey());
        }
        return before - parameterBytes();
    }

    /** Bytes the parameters' values take in memory (a tensor registered twice counted once). */
    public final long parameterBytes() {
        long n = 0;
        Set<Tensor> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        for (Tensor t : namedParameters().values()) if (seen.add(t)) n += t.storageBytes();
        return n;
    }

    /** Registers a child module (names may be dotted, e.g. {@code "layers.3"}) and returns it. */
    protected final <M extends Module> M child(String name, M module) {
        if (params.containsKey(name) || children.containsKey(name)) {
            throw new IllegalStateException(getClass().getSimpleName() + ": name " + name + " is taken");
        }
        children.put(name, module);
        return module;
    }

    /** Every parameter under its dotted path, in registration order (depth first). */
    public final Map<String, Tensor> namedParameters() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        collect("", out);
        return Collections.unmodifiableMap(out);
    }

    private void collect(String prefix, Map<String, Tensor> out) {
        for (var e : params.entrySet()) out.put(prefix + e.getKey(), e.getValue());
        for (var e : children.entrySet()) e.getValue().collect(prefix + e.getKey() + ".", out);
    }

    /**
     * Every module below this one under its dotted path, parents before their children, in
     * registration order (torch's {@code named_modules()} without the root). A child registered
     * under a dotted name ({@code "layers.3"}) appears under that name only: no module stands for
     * {@code "layers"}.
     */
    public final Map<String, Module> namedModules() {
        Map<String, Module> out = new LinkedHashMap<>();
        collectModules("", out);
        return Collections.unmodifiableMap(out);
    }

    private void collectModules(String prefix, Map<String, Module> out) {
        for (var e : children.entrySet()) {
            out.put(prefix + e.getKey(), e.getValue());
            e.getValue().collectModules(prefix + e.getKey() + ".", out);
        }
    }

    /** This module's own parameters (not its children's) under their local names. */
    public final Map<String, Tensor> ownParameters() {
        return Collections.unmodifiableMap(params);
    }

    /** Number of parameter values. */
    public final long parameterCount() {
        long n = 0;
        for (Tensor t : namedParameters().values()) n += t.numel();
        return n;
    }

    /** Drops every parameter's gradient. */
    public final void zeroGrad() {
        for (Tensor t : namedParameters().values()) t.zeroGrad();
    }

    /**
     * Copies {@code values} into the parameter {@code name}: the shapes must match exactly.
     * The parameter keeps its tensor, its backend and its precision (a 16-bit one takes the values
     * rounded, see {@link Tensor#assign}).
     */
    public final void copyFrom(String name, Tensor values) {
        Tensor p = namedParameters().get(name);
        if (p == null) throw new IllegalArgumentException(getClass().getSimpleName() + " has no parameter " + name);
        if (!Arrays.equals(p.shape(), values.shape())) {
            throw new IllegalArgumentException(name + ": shape " + Arrays.toString(values.shape()) + " does not match the model's "
                    + Arrays.toString(p.shape()));
        }
        p.assign(values);
    }
}
