package dev.aspo.tensor.optim;

import dev.aspo.tensor.Backend;
import dev.aspo.tensor.Storage;
import dev.aspo.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.function.Predicate;

/**
 * AdamW with {@code torch.optim.AdamW}'s semantics (decoupled weight decay, bias-corrected
 * moments, a step counter per parameter that only advances when the parameter has a gradient).
 *
 * <pre>{@code
 * var opt = new AdamW(model.namedParameters(), AdamW.Options.of(3e-4), AdamW.biasesAndNorms());
 * for (long s = 0; s < total; s++) {
 *     opt.zeroGrad();
 *     loss(...).backward();
 *     GradClip.clipGlobalNorm(opt.params(), 1.0);
 *     opt.setLr(schedule.lr(s));
 *     opt.step();
 * }
 * }</pre>
 *
 * <p>Parameters carry names so that {@link #state()} can be written next to the model and read
 * back by name ({@link #loadState}); resuming from it continues bit for bit. The moments live on
 * each parameter's backend and reach the host only when exported.
 */
public final class AdamW {

    /** The hyper-parameters; {@link #of} gives torch's defaults. */
    public record Options(double lr, double beta1, double beta2, double eps, double weightDecay) {
        public Options {
            check(lr >= 0 && Double.isFinite(lr), "learning rate", lr, ">= 0");
            check(beta1 >= 0 && beta1 < 1, "beta1", beta1, "in [0, 1)");
            check(beta2 >= 0 && beta2 < 1, "beta2", beta2, "in [0, 1)");
            check(eps >= 0 && Double.isFinite(eps), "eps", eps, ">= 0");
            check(weightDecay >= 0 && Double.isFinite(weightDecay), "weight decay", weightDecay, ">= 0");
        }

        /** torch's defaults: betas (0.9, 0.999), eps 1e-8, weight decay 0.01. */
        public static Options of(double lr) {
            return new Options(lr, 0.9, 0.999, 1e-8, 0.01);
        }

        public Options withBetas(double beta1, double beta2) {
            return new Options(lr, beta1, beta2, eps, weightDecay);
        }

        public Options withEps(double eps) {
            return new Options(lr, beta1, beta2, eps, weightDecay);
        }

        public Options withWeightDecay(double weightDecay) {
            return new Options(lr, beta1, beta2, eps, weightDecay);
        }

        private static void check(boolean ok, String what, double value, String must) {
            if (!ok) throw new IllegalArgumentException("AdamW: " + what + " must be " + must + ", got " + value);
        }
    }

    /**
     * The parameters Hugging Face's Trainer leaves out of weight decay: biases, and the weights of
     * normalisation layers (a module name containing "norm", which also catches CLIP's
     * {@code pre_layrnorm}, {@code layer_norm1} and Llama's {@code input_layernorm}, {@code norm}).
     */
    public static Predicate<String> biasesAndNorms() {
        return name -> {
            int dot = name.lastIndexOf('.');
            String leaf = name.substring(dot + 1), module = dot < 0 ? "" : name.substring(0, dot);
            String owner = module.substring(module.lastIndexOf('.') + 1).toLowerCase(Locale.ROOT);
            return leaf.equals("bias") || owner.contains("norm");
        };
    }

    /** One parameter and its optimiser state (null moments until its first gradient). */
    private static final class Slot {
        final String name;
        final Tensor param;
        final boolean decay;
        Storage m, v;
        int step;

        Slot(String name, Tensor param, boolean decay) {
            this.name = name;
            this.param = param;
            this.decay = decay;
        }
    }

    private static final String EXP_AVG = ".exp_avg", EXP_AVG_SQ = ".exp_avg_sq", STEP = ".step";

    private final List<Slot> slots = new ArrayList<>();
    private final Map<String, Slot> byName = new LinkedHashMap<>();
    private final Options options;
    private double lr;
    /** Per backend, the buffer of the step scalars ({@link #stepScalars}) of the parameters it holds. */
    private final Map<Backend, Storage> scalarBuffers = new IdentityHashMap<>();

    /** All of {@code params} decay; they are named {@code "0"}, {@code "1"}, ... in the state. */
    public AdamW(List<Tensor> params, Options options) {
        this(numbered(params), options, name -> false);
    }

    /**
     * Named parameters (iteration order is kept); those for which {@code noDecay} is true get no
     * weight decay (torch's second parameter group with {@code weight_decay=0}).
     */
    public AdamW(Map<String, Tensor> params, Options options, Predicate<String> noDecay) {
        this.options = Objects.requireNonNull(options, "options");
        this.lr = options.lr();
        Map<Storage, String> storages = new IdentityHashMap<>();
        for (Map.Entry<String, Tensor> e : params.entrySet()) {
            String name = e.getKey();
            Tensor p = Objects.requireNonNull(e.getValue(), () -> "AdamW: parameter '" + name + "' is null");
            if (!p.requiresGrad() || p.node() != null) {
                throw new IllegalArgumentException("AdamW: parameter '" + name + "' " + Arrays.toString(p.shape())
                        + (p.node() != null ? " is the output of op " + p.node().op() + ", not a leaf"
                                            : " does not require a gradient"));
            }
            String other = storages.put(p.storage(), name);
            if (other != null) {
                throw new IllegalArgumentException("AdamW: parameters '" + other + "' and '" + name
                        + "' share one storage; pass it once");
            }
            Slot s = new Slot(name, p, !noDecay.test(name));
            slots.add(s);
            byName.put(name, s);
        }
    }

    private static Map<String, Tensor> numbered(List<Tensor> params) {
        Map<String, Tensor> named = new LinkedHashMap<>();
        for (int i = 0; i < params.size(); i++) named.put(Integer.toString(i), params.get(i));
        return named;
    }

    public Options options() {
        return options;
    }

    /** The learning rate the next {@link #step} uses. */
    public double lr() {
        return lr;
    }

    /** Sets the learning rate (a schedule calls this before each step). */
    public void setLr(double lr) {
        if (!(lr >= 0) || !Double.isFinite(lr)) throw new IllegalArgumentException("AdamW: learning rate must be >= 0, got " + lr);
        this.lr = lr;
    }

    /** The parameters, in order (for gradient clipping). */
    public List<Tensor> params() {
        List<Tensor> out = new ArrayList<>(slots.size());
        for (Slot s : slots) out.add(s.param);
        return Collections.unmodifiableList(out);
    }

    /** Whether the named parameter gets weight decay. */
    public boolean decays(String name) {
        return slot(name).decay;
    }

    /** How many updates the named parameter has had (0 before its first gradient). */
    public int step(String name) {
        return slot(name).step;
    }

    /**
     * Updates every parameter that has a gradient; one without a gradient is left alone, as in torch.
     *
     * <p>The scalars that change with the step (learning rate, bias corrections) reach the kernels
     * through one small buffer per backend written with {@link Backend#writeEachStep}, so a step
     * recorded for replay (the OpenCL task graphs) advances the step counters and takes the current
     * learning rate on every replay, as a step run here does.
     */
    public void step() {
        Map<Backend, List<Slot>> active = new LinkedHashMap<>();
        for (Slot s : slots) {
            Storage g = s.param.gradStorage();
            if (g == null) continue;
            Backend be = s.param.backend();
            if (g.backend() != be) {
                throw new IllegalStateException("AdamW: gradient of '" + s.name + "' is on " + g.backend().name()
                        + " but the parameter is on " + be.name());
            }
            if (s.m == null) {
                if (be.recordingStep()) {
                    throw new IllegalStateException("AdamW: the moments of '" + s.name + "' would be created inside a "
                            + "step recorded on " + be.name() + ", and zeroed again on every replay: run one step "
                            + "before recording");
                }
                s.m = be.allocate(s.param.numel());
                s.v = be.allocate(s.param.numel());
            }
            active.computeIfAbsent(be, b -> new ArrayList<>()).add(s);
        }
        for (Map.Entry<Backend, List<Slot>> e : active.entrySet()) {
            Backend be = e.getKey();
            List<Slot> group = e.getValue();
            Storage scalars = scalarBuffer(be, 3 * group.size());
            be.writeEachStep(scalars, () -> advance(group));
            for (int i = 0; i < group.size(); i++) {
                Slot s = group.get(i);
                be.adamw(s.param.storage(), s.param.gradStorage(), s.m, s.v, s.param.numel(), scalars, 3 * i,
                        options.beta1(), options.beta2(), options.eps());
            }
        }
    }

    /** One more step for each slot of {@code group}: its scalars {@code [decay, sqrt(bc2), -lr/bc1]} in order. */
    private float[] advance(List<Slot> group) {
        float[] out = new float[3 * group.size()];
        for (int i = 0; i < group.size(); i++) {
            Slot s = group.get(i);
            s.step++;
            stepScalars(out, 3 * i, lr, s.decay ? options.weightDecay() : 0, options.beta1(), options.beta2(), s.step);
        }
        return out;
    }

    /** A buffer of at least {@code n} floats on {@code be}, kept for the next steps (created outside recordings). */
    private Storage scalarBuffer(Backend be, int n) {
        Storage s = scalarBuffers.get(be);
        if (s == null || s.size() < n) {
            if (be.recordingStep()) {
                throw new IllegalStateException("AdamW: its step scalars would be created inside a step recorded on "
                        + be.name() + ": run one step with the same parameters before recording");
            }
            s = be.allocate(Math.max(n, 3 * slots.size()));
            scalarBuffers.put(be, s);
        }
        return s;
    }

    /**
     * The step-dependent AdamW scalars of {@link Backend#adamw} into {@code out[at..at+3)}: {@code
     * 1 - lr wd}, {@code sqrt(1 - beta2^step)} and {@code -lr / (1 - beta1^step)}, worked out in
     * double and rounded to float once, as torch does with its Python-float arguments.
     */
    public static void stepScalars(float[] out, int at, double lr, double weightDecay, double beta1, double beta2,
                                   int step) {
        if (step < 1) throw new IllegalArgumentException("adamw: step counts from 1, got " + step);
        out[at] = (float) (1 - lr * weightDecay);
        out[at + 1] = (float) Math.sqrt(1 - Math.pow(beta2, step));
        out[at + 2] = (float) (-lr / (1 - Math.pow(beta1, step)));
    }

    /** Drops every parameter's gradient (torch's {@code zero_grad(set_to_none=True)}). */
    public void zeroGrad() {
        for (Slot s : slots) s.param.zeroGrad();
    }

    /**
     * A host copy of the state, torch's names per parameter: {@code <name>.exp_avg},
     * {@code <name>.exp_avg_sq} and {@code <name>.step} (one float, as torch keeps it). Parameters
     * that never had a gradient have no entries.
     */
    public Map<String, float[]> state() {
        Map<String, float[]> out = new LinkedHashMap<>();
        for (Slot s : slots) {
            if (s.m == null) continue;
            out.put(s.name + EXP_AVG, download(s.m, s.param));
            out.put(s.name + EXP_AVG_SQ, download(s.v, s.param));
            out.put(s.name + STEP, new float[] {s.step});
        }
        return out;
    }

    private static float[] download(Storage x, Tensor like) {
        float[] host = new float[like.numel()];
        like.backend().download(x, 0, host, host.length);
        return host;
    }

    /**
     * Replaces the state with one from {@link #state()}; parameters it does not mention start
     * fresh. Checked whole before anything changes: an unknown name, a missing piece or a wrong
     * size fails with the key and what is wrong.
     */
    public void loadState(Map<String, float[]> state) {
        Map<String, float[][]> parts = new LinkedHashMap<>();
        for (Map.Entry<String, float[]> e : state.entrySet()) {
            String key = e.getKey();
            int kind = key.endsWith(EXP_AVG) ? 0 : key.endsWith(EXP_AVG_SQ) ? 1 : key.endsWith(STEP) ? 2 : -1;
            if (kind < 0) throw new IllegalArgumentException("AdamW state: unexpected key '" + key + "'");
            String name = key.substring(0, key.length() - (kind == 0 ? EXP_AVG : kind == 1 ? EXP_AVG_SQ : STEP).length());
            Slot s = byName.get(name);
            if (s == null) {
                throw new IllegalArgumentException("AdamW state: key '" + key + "' names parameter '" + name
                        + "', which this optimiser does not hold");
            }
            float[] value = Objects.requireNonNull(e.getValue(), () -> "AdamW state: '" + key + "' is null");
            int want = kind == 2 ? 1 : s.param.numel();
            if (value.length != want) {
                throw new IllegalArgumentException("AdamW state: '" + key + "' has " + value.length + " values, parameter '"
                        + name + "' " + Arrays.toString(s.param.shape()) + " needs " + want);
            }
            if (kind == 2 && !(value[0] >= 1 && value[0] == Math.rint(value[0]) && value[0] < 1 << 24)) {
                throw new IllegalArgumentException("AdamW state: '" + key + "' must be a whole number >= 1, got " + value[0]);
            }
            parts.computeIfAbsent(name, k -> new float[3][])[kind] = value;
        }
        for (Map.Entry<String, float[][]> e : parts.entrySet()) {
            String[] suffix = {EXP_AVG, EXP_AVG_SQ, STEP};
            for (int k = 0; k < 3; k++) {
                if (e.getValue()[k] == null) {
                    throw new IllegalArgumentException("AdamW state: '" + e.getKey() + suffix[k] + "' is missing");
                }
            }
        }
        for (Slot s : slots) {
            float[][] p = parts.get(s.name);
            if (p == null) {
                s.m = s.v = null;
                s.step = 0;
            } else {
                Backend be = s.param.backend();
                s.m = be.upload(p[0]);
                s.v = be.upload(p[1]);
                s.step = (int) p[2][0];
            }
        }
    }

    private Slot slot(String name) {
        Slot s = byName.get(name);
        if (s == null) throw new IllegalArgumentException("AdamW: no parameter named '" + name + "'");
        return s;
    }
}
