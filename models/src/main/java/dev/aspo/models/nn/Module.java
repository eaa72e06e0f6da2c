package dev.aspo.models.nn;

import dev.aspo.tensor.Tensor;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A tree of named parameters, as torch's {@code nn.Module}: a layer registers its parameters
 * and its child layers under the names Hugging Face uses, so {@link #namedParameters()} yields
 * exactly the names a {@code save_pretrained} checkpoint holds (before any layout mapping).
 *
 * <p>Parameters are created once, zero-filled, and keep their tensor for the module's life:
 * loading copies values into them ({@link #copyFrom}), so references held by an optimiser stay valid.
 */
public abstract class Module {
    private final Map<String, Tensor> params = new LinkedHashMap<>();
    private final Map<String, Module> children = new LinkedHashMap<>();

    /** Registers a zero-filled parameter (requires a gradient) and returns it. */
    protected final Tensor parameter(String name, int... shape) {
        if (params.containsKey(name) || children.containsKey(name)) {
            throw new IllegalStateException(getClass().getSimpleName() + ": name " + name + " is taken");
        }
        Tensor t = Tensor.zeros(shape).requiresGrad(true);
        params.put(name, t);
        return t;
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
     * The parameter keeps its tensor (and its backend).
     */
    public final void copyFrom(String name, Tensor values) {
        Tensor p = namedParameters().get(name);
        if (p == null) throw new IllegalArgumentException(getClass().getSimpleName() + " has no parameter " + name);
        if (!Arrays.equals(p.shape(), values.shape())) {
            throw new IllegalArgumentException(name + ": shape " + Arrays.toString(values.shape()) + " does not match the model's "
                    + Arrays.toString(p.shape()));
        }
        Tensor src = values.backend() == p.backend() ? values : values.to(p.backend());
        p.backend().copy2d(src.storage(), 0, p.numel(), p.storage(), 0, p.numel(), 1, p.numel(), false);
    }
}
