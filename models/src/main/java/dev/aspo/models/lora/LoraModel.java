package dev.aspo.models.lora;

import dev.aspo.models.hf.HfJson;
import dev.aspo.models.hf.Weights;
import dev.aspo.models.nn.Linear;
import dev.aspo.models.nn.Module;
import dev.aspo.tensor.Backends;
import dev.aspo.tensor.ReplayableRandom;
import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.io.SafeTensorsFile;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;

/**
 * A model with LoRA adapters on some of its linear layers, as PEFT's {@code PeftModel} with one
 * LoRA adapter: {@link #inject} puts fresh adapters on the layers a {@link LoraConfig} names and
 * freezes the base model, {@link #load} reads an adapter PEFT (or {@link #save}) wrote, and the
 * base model's own {@code forward}, {@code loss} and {@code generate} then include the adapters.
 *
 * <pre>{@code
 * LlavaForConditionalGeneration base = LlavaForConditionalGeneration.load(dir);
 * LoraModel lora = LoraModel.inject(base, LoraConfig.of(16, 32, TargetModules.names("q_proj", "v_proj")), seed);
 * AdamW opt = new AdamW(lora.trainableParameters(), options, AdamW.biasesAndNorms());   // moments for adapters only
 * lora.train(stepSeed);  ... base.loss(...).backward(); opt.step();  ... lora.eval();
 * try (var off = lora.disabled()) { reference = base.forward(...); }                     // the base model alone
 * lora.save(out);                                  // adapter_config.json + adapter_model.safetensors, PEFT's names
 * Module merged = lora.mergeAndUnload();           // W += scaling B A, adapters gone
 * }</pre>
 *
 * <p>The adapters hang on the {@link Linear} layers ({@link Linear#setAdapter}), outside the
 * module tree: {@code base.namedParameters()} and the base model's checkpoints stay exactly as
 * they were. Their parameters are {@link #trainableParameters()}, named as PEFT's adapter file
 * names them ({@code base_model.model.<transformers module name>.lora_A.weight}).
 *
 * <p>Matching follows PEFT: every module whose transformers name {@code target_modules} matches
 * (and {@code exclude_modules} does not) gets an adapter; a match that is not a linear layer (an
 * embedding, a norm) is an error, and so are targets that match nothing.
 */
public final class LoraModel {
    /** The weights file of PEFT's {@code save_pretrained}. */
    public static final String WEIGHTS_FILE = "adapter_model.safetensors";

    private final Module base;
    private final LoraConfig config;
    private final PeftNames names;
    private final Map<String, LoraLayer> layers = new LinkedHashMap<>();     // our module path -> adapter
    private final Map<String, Linear> adapted = new LinkedHashMap<>();
    private final List<Tensor> frozen = new ArrayList<>();
    private boolean enabled = true, training, unloaded;
    private ReplayableRandom dropoutRng;

    private LoraModel(Module base, LoraConfig config, PeftNames names) {
        this.base = base;
        this.config = config;
        this.names = names;
    }

    // ---- building -----------------------------------------------------------------------------

    /**
     * Puts a new adapter on every linear layer of {@code base} that {@code config} names, and
     * freezes every parameter of {@code base} (they keep their values; only the adapters'
     * parameters then want gradients). As PEFT initialises them: {@code lora_A} kaiming-uniform
     * with {@code a = sqrt(5)}, i.e. {@code U(-1/sqrt(in), 1/sqrt(in))}, drawn from {@code seed} in
     * module order; {@code lora_B} zero, so the model's outputs do not change. The adapters are
     * created on the current backend, which must be the base model's. {@code "all-linear"} becomes
     * the list of the layers' transformers names in the returned model's config.
     */
    public static LoraModel inject(Module base, LoraConfig config, long seed) {
        LoraModel m = attach(base, config);
        Random rng = new Random(seed);
        for (LoraLayer l : m.layers.values()) {
            float bound = (float) (1 / Math.sqrt(l.loraA.inFeatures()));
            l.loraA.copyFrom("weight", Tensor.uniform(rng, -bound, bound, l.loraA.weight.shape()));
        }
        return m;
    }

    /**
     * Reads the adapter in {@code dir} ({@code adapter_config.json}, {@code adapter_model.safetensors}
     * as PEFT's {@code save_pretrained} or {@link #save} write them) onto {@code base}, frozen as by
     * {@link #inject}. The file must hold exactly the tensors the config's targets imply on this
     * model, with their shapes: anything else is one error naming the tensors.
     */
    public static LoraModel load(Module base, Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new IOException(dir + ": " + (Files.exists(dir) ? "not a folder" : "no such folder") + " (expected a PEFT adapter"
                    + " directory with " + LoraConfig.FILE + " and " + WEIGHTS_FILE + ")");
        }
        LoraConfig config;
        try {
            config = LoraConfig.load(dir);
        } catch (IllegalArgumentException e) {
            throw new IOException(e.getMessage(), e);
        }
        LoraModel m;
        try {
            m = attach(base, config);
        } catch (IllegalArgumentException e) {
            throw new IOException(dir.resolve(LoraConfig.FILE) + ": " + e.getMessage(), e);
        }
        try {
            m.loadWeights(dir);
        } catch (IOException | RuntimeException e) {
            m.detach();
            throw e;
        }
        return m;
    }

    /** Adapters (zero-filled) on the layers {@code config} names; the base model frozen. */
    private static LoraModel attach(Module base, LoraConfig config) {
        PeftNames names = PeftNames.of(base);
        Map<String, Module> modules = base.namedModules();
        if (config.targetModules().isAllLinear()) {
            List<String> all = new ArrayList<>();
            for (var e : modules.entrySet()) {
                String key = names.toPeft(e.getKey());
                if (e.getValue() instanceof Linear && key != null && !e.getKey().equals(names.outputLayer)) all.add(key);
            }
            config = config.withTargetModules(TargetModules.names(all));
        }
        LoraModel m = new LoraModel(base, config, names);
        List<String> notLinear = new ArrayList<>(), taken = new ArrayList<>();
        for (var e : modules.entrySet()) {
            String key = names.toPeft(e.getKey());
            if (key == null || !config.targetModules().matches(key)) continue;
            if (config.excludeModules() != null && config.excludeModules().matches(key)) continue;
            Module mod = e.getValue();
            if (mod instanceof Linear lin) {
                if (lin.adapter() != null) taken.add(key);
                else m.adapted.put(e.getKey(), lin);
            } else if (!mod.ownParameters().isEmpty()) {
                notLinear.add(key + " (" + mod.getClass().getSimpleName() + ")");
            }
        }
        if (!taken.isEmpty()) {
            throw new IllegalArgumentException("LoRA: these layers already carry an adapter: " + taken);
        }
        if (!notLinear.isEmpty()) {
            throw new IllegalArgumentException("LoRA: target_modules " + config.targetModules() + " match modules that are not linear"
                    + " layers: " + notLinear + "; adapters go on linear layers only here");
        }
        if (m.adapted.isEmpty()) {
            throw new IllegalArgumentException("LoRA: target_modules " + config.targetModules()
                    + (config.excludeModules() == null ? "" : " less exclude_modules " + config.excludeModules())
                    + " match no linear layer of this " + base.getClass().getSimpleName() + " (module names as transformers"
                    + " has them, e.g. " + exampleNames(names, modules) + ")");
        }
        for (var e : m.adapted.entrySet()) {
            Linear lin = e.getValue();
            if (lin.weight.backend() != Backends.current()) {
                throw new IllegalArgumentException("LoRA: the model is on " + lin.weight.backend().name() + " but new tensors go to "
                        + Backends.current().name() + "; make the model's backend current (Backends.use) before adding adapters");
            }
        }
        for (Tensor p : base.namedParameters().values()) {
            if (p.requiresGrad()) {
                p.requiresGrad(false);
                m.frozen.add(p);
            }
        }
        for (var e : m.adapted.entrySet()) {
            LoraLayer l = new LoraLayer(m, e.getValue(), config);
            m.layers.put(e.getKey(), l);
            e.getValue().setAdapter(l);
        }
        return m;
    }

    private static String exampleNames(PeftNames names, Map<String, Module> modules) {
        List<String> out = new ArrayList<>();
        for (var e : modules.entrySet()) {
            String key = names.toPeft(e.getKey());
            if (e.getValue() instanceof Linear && key != null && out.size() < 3) out.add(key);
        }
        return String.join(", ", out);
    }

    // ---- state --------------------------------------------------------------------------------

    public Module base() {
        return base;
    }

    /** The settings; {@code "all-linear"} resolved to the layers it stood for. */
    public LoraConfig config() {
        return config;
    }

    /** The adapters by our module path of the layer they are on, in module order. */
    public Map<String, LoraLayer> layers() {
        return Collections.unmodifiableMap(layers);
    }

    /**
     * The adapters' parameters, named as in PEFT's adapter file
     * ({@code base_model.model.model.language_model.layers.0.self_attn.q_proj.lora_A.weight}), in
     * module order: what an optimiser should hold. The base model's parameters are frozen.
     */
    public Map<String, Tensor> trainableParameters() {
        requireAttached();
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (var e : layers.entrySet()) {
            String prefix = PeftNames.FILE_PREFIX + names.toPeft(e.getKey()) + ".";
            for (var p : e.getValue().namedParameters().entrySet()) out.put(prefix + p.getKey(), p.getValue());
        }
        return Collections.unmodifiableMap(out);
    }

    /** Drops the adapters' gradients. */
    public void zeroGrad() {
        for (LoraLayer l : layers.values()) l.zeroGrad();
    }

    public boolean enabled() {
        return enabled;
    }

    /** Turns every adapter on or off: off, the model computes as the base model alone (e.g. a DPO reference). */
    public void setEnabled(boolean on) {
        requireAttached();
        this.enabled = on;
    }

    /** Adapters off until the scope closes, then as they were: {@code try (var off = lora.disabled()) {...}}. */
    public Scope disabled() {
        requireAttached();
        boolean was = enabled;
        enabled = false;
        return () -> enabled = was;
    }

    /** Closes a {@link #disabled} scope. */
    public interface Scope extends AutoCloseable {
        @Override
        void close();
    }

    /**
     * Training mode: the adapters apply {@code lora_dropout} to their inputs, with masks drawn from
     * {@code dropoutSeed} (call it before each step with a seed derived from the step to get the
     * same masks on a resumed run). Without dropout it changes nothing. The masks come from a
     * {@link ReplayableRandom}, so a checkpointed layer draws them again the same when it is recomputed.
     */
    public void train(long dropoutSeed) {
        requireAttached();
        training = true;
        dropoutRng = new ReplayableRandom(dropoutSeed);
    }

    /** Evaluation mode (the default): no dropout. */
    public void eval() {
        training = false;
        dropoutRng = null;
    }

    boolean training() {
        return training && config.loraDropout() > 0;
    }

    ReplayableRandom dropoutRng() {
        return dropoutRng;
    }

    // ---- merge --------------------------------------------------------------------------------

    /**
     * PEFT's {@code merge_and_unload}: adds {@code scaling * B A} to each adapted layer's weight,
     * removes the adapters and unfreezes what {@link #inject} froze; returns the base model, which
     * now computes what the adapted model did. This object is unusable afterwards.
     */
    public Module mergeAndUnload() {
        requireAttached();
        for (var e : layers.entrySet()) {
            Linear lin = adapted.get(e.getKey());
            float[] w = lin.weight.toFloatArray(), d = e.getValue().delta();
            for (int i = 0; i < w.length; i++) w[i] += d[i];
            lin.copyFrom("weight", Tensor.of(w, lin.weight.shape()));
        }
        detach();
        return base;
    }

    /** PEFT's {@code unload}: removes the adapters without merging and unfreezes the base model; returns it. */
    public Module unload() {
        requireAttached();
        detach();
        return base;
    }

    private void detach() {
        for (Linear lin : adapted.values()) lin.setAdapter(null);
        for (Tensor p : frozen) p.requiresGrad(true);
        unloaded = true;
    }

    private void requireAttached() {
        if (unloaded) throw new IllegalStateException("LoRA: the adapters were merged or unloaded; this LoraModel is spent");
    }

    // ---- files --------------------------------------------------------------------------------

    /**
     * Writes {@code adapter_config.json} and {@code adapter_model.safetensors} (F32, PEFT's tensor
     * names) into {@code dir}, as PEFT's {@code save_pretrained} does, so that
     * {@code PeftModel.from_pretrained(base, dir)} loads it. As PEFT does when the output layer
     * ({@code lm_head}) is targeted, its base weight is saved too ({@code lm_head.base_layer.weight}).
     * A new directory appears complete or not at all; into an existing one, each file is replaced
     * atomically, weights first.
     */
    public void save(Path dir) throws IOException {
        requireAttached();
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (var e : fileTensors().entrySet()) tensors.put(e.getKey(), e.getValue().tensor());
        Weights.saveDirectory(tensors, dir, WEIGHTS_FILE, LoraConfig.FILE,
                d -> HfJson.writeObject(d.resolve(LoraConfig.FILE), config.toJson(names.autoMapping())));
    }

    /** A tensor of the adapter file: the module it belongs to and its name there. */
    private record FileTensor(Module owner, String local, Tensor tensor) {}

    /** The tensors of this adapter's file by PEFT name, in module order. */
    private Map<String, FileTensor> fileTensors() {
        Map<String, FileTensor> out = new LinkedHashMap<>();
        for (var e : layers.entrySet()) {
            String prefix = PeftNames.FILE_PREFIX + names.toPeft(e.getKey()) + ".";
            if (e.getKey().equals(names.outputLayer)) {
                Linear lin = adapted.get(e.getKey());
                for (var p : lin.ownParameters().entrySet()) {
                    out.put(prefix + "base_layer." + p.getKey(), new FileTensor(lin, p.getKey(), p.getValue()));
                }
            }
            for (var p : e.getValue().namedParameters().entrySet()) {
                out.put(prefix + p.getKey(), new FileTensor(e.getValue(), p.getKey(), p.getValue()));
            }
        }
        return out;
    }

    /**
     * Copies the adapter weights of {@code dir/adapter_model.safetensors} into this model's
     * adapters (their tensors stay the same objects, so an optimiser holding them stays valid):
     * for resuming. Tensor names may follow transformers 5.x's module names or 4.x's
     * ({@code base_model.model.language_model.model.layers...}); a {@code <module>.base_layer.*}
     * tensor of an adapted layer (PEFT saves one for a targeted {@code lm_head}) replaces that
     * layer's base weight, as in PEFT. Checked whole first: a missing, unexpected or mis-shaped
     * tensor, or a non-finite value, is one error naming it, and nothing is changed.
     */
    public void loadWeights(Path dir) throws IOException {
        requireAttached();
        Path file = dir.resolve(WEIGHTS_FILE);
        if (!Files.isRegularFile(file)) {
            String bin = Files.exists(dir.resolve("adapter_model.bin")) ? " (adapter_model.bin is a pickle, which is not read:"
                    + " save the adapter with safe_serialization=True)" : "";
            throw new IOException(dir + ": no " + WEIGHTS_FILE + bin);
        }
        // every tensor this model's adapter file can hold, under the name in our module tree
        Map<String, FileTensor> expected = new LinkedHashMap<>(), optional = new LinkedHashMap<>();
        Map<String, String> written = new LinkedHashMap<>();
        for (var e : layers.entrySet()) {
            Linear lin = adapted.get(e.getKey());
            for (var p : lin.ownParameters().entrySet()) {
                optional.put(e.getKey() + ".base_layer." + p.getKey(), new FileTensor(lin, p.getKey(), p.getValue()));
            }
            for (var p : e.getValue().namedParameters().entrySet()) {
                String ours = e.getKey() + "." + p.getKey();
                expected.put(ours, new FileTensor(e.getValue(), p.getKey(), p.getValue()));
                written.put(ours, PeftNames.FILE_PREFIX + names.toPeft(e.getKey()) + "." + p.getKey());
            }
        }
        Map<String, String> source = new LinkedHashMap<>();     // our name -> file name
        List<String> unexpected = new ArrayList<>(), misShaped = new ArrayList<>();
        try (SafeTensorsFile st = SafeTensorsFile.open(file)) {
            for (String name : st.names()) {
                String ours = ourName(name);
                FileTensor t = ours == null ? null : expected.containsKey(ours) ? expected.get(ours) : optional.get(ours);
                if (t == null) {
                    unexpected.add(name);
                } else if (source.containsKey(ours)) {
                    unexpected.add(name + " (a second tensor for " + source.get(ours) + ")");
                } else {
                    source.put(ours, name);
                    int[] shape = st.info(name).shape();
                    if (!Arrays.equals(shape, t.tensor().shape())) {
                        misShaped.add(name + " " + Arrays.toString(shape) + " (expected " + Arrays.toString(t.tensor().shape())
                                + (t.owner() instanceof LoraLayer ? " from the adapter config" : ", the model's") + ")");
                    }
                }
            }
            Set<String> missing = new TreeSet<>();
            for (String n : expected.keySet()) if (!source.containsKey(n)) missing.add(written.get(n));
            if (!missing.isEmpty() || !unexpected.isEmpty() || !misShaped.isEmpty()) {
                StringBuilder sb = new StringBuilder(file + ": the tensors do not fit the model and " + LoraConfig.FILE);
                if (!missing.isEmpty()) sb.append("; missing ").append(missing);
                if (!unexpected.isEmpty()) sb.append("; unexpected ").append(unexpected);
                if (!misShaped.isEmpty()) sb.append("; wrong shape ").append(misShaped);
                throw new IOException(sb.toString());
            }
            Map<String, Tensor> values = new LinkedHashMap<>();
            for (var e : source.entrySet()) {
                values.put(e.getKey(), Weights.requireFinite(file, e.getValue(), st.readFloat(e.getValue())));
            }
            for (var e : values.entrySet()) {
                FileTensor t = expected.containsKey(e.getKey()) ? expected.get(e.getKey()) : optional.get(e.getKey());
                t.owner().copyFrom(t.local(), e.getValue());
            }
        }
    }

    /** Our {@code <module path>.<rest>} for a tensor name of a PEFT adapter file, or null if it is none. */
    private String ourName(String fileName) {
        if (!fileName.startsWith(PeftNames.FILE_PREFIX)) return null;
        String rest = fileName.substring(PeftNames.FILE_PREFIX.length());
        for (String leaf : new String[] {".lora_A.weight", ".lora_B.weight", ".base_layer.weight", ".base_layer.bias"}) {
            if (rest.endsWith(leaf)) return names.fromPeft(rest.substring(0, rest.length() - leaf.length())) + leaf;
        }
        return null;
    }

    /** The adapted layers' transformers names, in module order (for messages and tests). */
    public List<String> targetNames() {
        List<String> out = new ArrayList<>();
        for (String p : layers.keySet()) out.add(names.toPeft(p));
        return out;
    }

    @Override
    public String toString() {
        Set<String> leaves = new LinkedHashSet<>();
        for (String p : layers.keySet()) leaves.add(p.substring(p.lastIndexOf('.') + 1));
        long n = 0;
        for (Tensor t : trainableParameters().values()) n += t.numel();
        return "LoRA r=" + config.r() + " alpha=" + config.loraAlpha() + " on " + layers.size() + " layers " + leaves + ", " + n
                + " trainable parameters";
    }
}
