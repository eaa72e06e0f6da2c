package dev.aspo.method.train;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.aspo.method.loss.LossConfig;
import dev.aspo.models.hf.HfJson;
import dev.aspo.tensor.Precision;
import dev.aspo.tensor.io.IoErrors;
import dev.aspo.tensor.io.ShardSize;
import dev.aspo.tensor.optim.AdamW;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * A training run's settings: flat {@code key: value} pairs from a YAML or JSON file, each of which a
 * {@code --key value} flag overrides. Every key and its default is in {@link #DEFAULTS}; an
 * unknown key, or a value of the wrong type, is an error naming the key.
 */
public final class TrainConfig {
    /** Every key with its default ("" = unset). Keep in step with docs/TRAINING.md. */
    public static final Map<String, String> DEFAULTS;

    static {
        Map<String, String> d = new LinkedHashMap<>();
        // what to train, on what
        d.put("model", "");                 // HF directory of the initial policy (config.json + model.safetensors)
        d.put("tokenizer", "");             // tokenizer.json; default: <model>/tokenizer.json
        d.put("reference", "");             // reference model directory; default: the initial policy
        d.put("reference_mode", "cached");  // cached (log-probs computed once per dataset) | frozen (a copy run every step)
        d.put("train_file", "");            // JSONL (TRL format)
        d.put("eval_file", "");             // JSONL, optional
        d.put("image_root", "");            // folder the datasets' image paths must stay inside; default: each dataset's folder
        d.put("output_dir", "");            // checkpoints, metrics.jsonl, caches
        d.put("cache_dir", "");             // default: <output_dir>/cache
        d.put("overwrite_output_dir", "false"); // true: a new run deletes the checkpoints and metrics of a run in output_dir
        d.put("skip_bad_records", "false");
        d.put("max_length", "512");
        // optimisation
        d.put("device", "cpu");             // cpu | opencl | opencl:P:D
        d.put("task_graph", "false");       // sft on opencl: record the step's device work once, replay it
        d.put("seed", "42");
        d.put("epochs", "1");
        d.put("max_steps", "0");            // > 0 overrides epochs
        d.put("batch_size", "4");           // records per micro-batch (a preference record is two sequences)
        d.put("grad_accum", "1");           // micro-batches per optimiser step
        d.put("lr", "5e-6");
        d.put("warmup_steps", "0");
        d.put("min_lr_ratio", "0.0");
        d.put("weight_decay", "0.0");
        d.put("adam_beta1", "0.9");
        d.put("adam_beta2", "0.999");
        d.put("adam_eps", "1e-8");
        d.put("max_grad_norm", "1.0");      // 0 disables clipping
        d.put("freeze", "");                // comma-separated parameter-name prefixes not to train (e.g. vision_tower.)
        d.put("dtype", "float32");          // weight matrices not trained (reference, freeze, a LoRA base): float32 | bfloat16 | float16 (cpu)
        d.put("gradient_checkpointing", "false"); // keep each layer's input only, recompute the layer in the backward
        // the lora block (LoraSettings): PEFT's names; all unset: no adapters, the whole model trains
        for (String k : LoraSettings.KEYS) d.put(LoraSettings.PREFIX + k, "");
        d.put("eval_every", "0");           // steps; 0: only at the end (when eval_file is set)
        d.put("save_every", "0");           // steps; 0: only at the end
        d.put("max_shard_size", "");        // checkpoint weights in shards of at most this (5GB, 500MB, bytes); default: one file
        d.put("log_every", "1");            // metrics.jsonl lines and plain progress lines
        d.put("progress", "auto");          // auto (bar on a terminal, lines otherwise) | bar | lines | none
        // loss (docs/METHOD.md)
        d.put("beta", "0.1");
        d.put("label_smoothing", "0.0");
        d.put("nll_weight", "0.0");         // dpo/aspo: + nll_weight x the chosen answers' mean token NLL (RPO; TRL's "sft" loss term)
        d.put("nll_weighting", "uniform");  // uniform (RPO's) | sentence: each chosen token's NLL times its sentence's omega
        d.put("objective", "sigmoid");      // sigmoid | ipo
        d.put("alpha", "0.5");
        d.put("normalization", "mean");     // mean | reward-ratio
        d.put("perplexity_source", "policy");
        d.put("rejected_weighting", "none");
        d.put("weights", "adaptive");       // adaptive | oracle (labels from the records' chosen_sentence_labels)
        d.put("shuffle_weights", "false");  // aspo: permute each chosen answer's weights among its sentences (seeded; the control)
        d.put("clip_model", "");            // CLIP dual encoder for ASPO similarities (needed when alpha > 0)
        DEFAULTS = Collections.unmodifiableMap(d);
    }

    private static final ObjectMapper JSON = HfJson.strictMapper();
    private static final ObjectMapper YAML = new ObjectMapper(YAMLFactory.builder().build()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION.mappedFeature()));

    private final Map<String, String> values;

    private TrainConfig(Map<String, String> values) {
        this.values = values;
    }

    /** The defaults with {@code overrides} applied. */
    public static TrainConfig of(Map<String, String> overrides) {
        Map<String, String> v = new LinkedHashMap<>(DEFAULTS);
        for (var e : overrides.entrySet()) put(v, e.getKey(), e.getValue(), "flag --" + e.getKey());
        TrainConfig c = new TrainConfig(v);
        c.validate();
        return c;
    }

    /** {@code file} (YAML for .yaml/.yml, else JSON; null for none), then {@code overrides}. */
    public static TrainConfig load(Path file, Map<String, String> overrides) throws IOException {
        Map<String, String> v = new LinkedHashMap<>(DEFAULTS);
        if (file != null) {
            String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
            ObjectMapper m = name.endsWith(".yaml") || name.endsWith(".yml") ? YAML : JSON;
            JsonNode root;
            if (Files.isDirectory(file)) throw new IllegalArgumentException(file + ": a folder, not a config file");
            try {
                root = m.readTree(Files.readAllBytes(file));
            } catch (JsonProcessingException e) {
                throw new IllegalArgumentException(file + ": not valid " + (m == YAML ? "YAML" : "JSON") + ": " + HfJson.describe(e));
            } catch (IOException e) {
                throw new IllegalArgumentException(file + ": cannot read the config (" + IoErrors.reason(e) + ")");
            }
            if (root == null || !root.isObject()) throw new IllegalArgumentException(file + ": a config must be a mapping of keys to values");
            for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
                var e = it.next();
                JsonNode n = e.getValue();
                if (e.getKey().equals("lora")) {
                    putLoraBlock(v, n, file.toString());
                    continue;
                }
                if (n.isContainerNode()) throw new IllegalArgumentException(file + ": key " + e.getKey() + " must have a plain value");
                put(v, e.getKey(), n.isNull() ? "" : n.asText(), file.toString());
            }
        }
        for (var e : overrides.entrySet()) put(v, e.getKey(), e.getValue(), "flag --" + e.getKey());
        TrainConfig c = new TrainConfig(v);
        c.validate();
        return c;
    }

    private static void put(Map<String, String> v, String key, String value, String where) {
        String k = key.replace('-', '_');
        if (!DEFAULTS.containsKey(k)) throw new IllegalArgumentException(where + ": unknown config key " + key + " (keys: " + String.join(", ", DEFAULTS.keySet()) + ")");
        v.put(k, LoraSettings.isModules(k) ? LoraSettings.modulesFromText(value) : value);
    }

    /** A file's {@code lora:} mapping, as {@code lora.<key>} values; modules lists and patterns kept as JSON. */
    private static void putLoraBlock(Map<String, String> v, JsonNode block, String where) {
        if (block.isNull() || block.isContainerNode() && block.isEmpty() || block.isTextual() && block.textValue().isBlank()) {
            throw new IllegalArgumentException(where + ": the lora block is empty; give lora.target_modules (the layers that get"
                    + " adapters) or lora.adapter");
        }
        if (!block.isObject()) {
            throw new IllegalArgumentException(where + ": lora must be a mapping of LoRA settings (" + String.join(", ", LoraSettings.KEYS)
                    + "), got " + block);
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = block.fields(); it.hasNext(); ) {
            var e = it.next();
            String key = LoraSettings.PREFIX + e.getKey();
            JsonNode n = e.getValue();
            if (!DEFAULTS.containsKey(key)) {
                throw new IllegalArgumentException(where + ": unknown key " + key + " (lora keys: " + String.join(", ", LoraSettings.KEYS) + ")");
            }
            if (LoraSettings.isModules(key) && (n.isArray() || n.isTextual())) {
                v.put(key, n.toString());
            } else if (n.isContainerNode()) {
                throw new IllegalArgumentException(where + ": key " + key + " must have a plain value"
                        + (LoraSettings.isModules(key) ? " (a list of module names or a regular expression)" : ""));
            } else {
                put(v, key, n.isNull() ? "" : n.asText(), where);
            }
        }
    }

    private void validate() {
        for (String k : DEFAULTS.keySet()) {
            String d = DEFAULTS.get(k);
            if (d.equals("true") || d.equals("false")) bool(k);
            else if (d.matches("-?\\d+")) integer(k);
            else if (d.matches("[0-9.e+-]+")) number(k);
        }
        for (String k : new String[] {"epochs", "batch_size", "grad_accum", "log_every", "max_length"}) {
            if (integer(k) < 1) throw new IllegalArgumentException(k + " must be at least 1, got " + integer(k));
        }
        for (String k : new String[] {"max_grad_norm", "lr", "weight_decay", "adam_eps", "beta"}) {
            if (!(number(k) >= 0) || Double.isInfinite(number(k))) {
                throw new IllegalArgumentException(k + " must be a finite number >= 0" + (k.equals("max_grad_norm") ? " (0 disables clipping)" : "")
                        + ", got " + str(k));
            }
        }
        for (String k : new String[] {"adam_beta1", "adam_beta2", "min_lr_ratio"}) {
            double v = number(k);
            if (!(v >= 0 && v <= 1) || (!k.equals("min_lr_ratio") && v == 1)) {
                throw new IllegalArgumentException(k + " must be in [0, 1" + (k.equals("min_lr_ratio") ? "]" : ")") + ", got " + str(k));
            }
        }
        for (String k : new String[] {"max_steps", "warmup_steps", "eval_every", "save_every"}) {
            if (integer(k) < 0) throw new IllegalArgumentException(k + " must be >= 0, got " + integer(k));
        }
        if (isSet("max_shard_size")) maxShardBytes();
        if (dtype() != Precision.FLOAT32 && !str("device").equals("cpu")) {
            throw new IllegalArgumentException("dtype: " + str("dtype") + " holds frozen weights for the cpu backend, but device is "
                    + str("device") + ", which keeps float32 weights; use dtype: float32 there");
        }
        if (!str("reference_mode").equals("cached") && !str("reference_mode").equals("frozen")) {
            throw new IllegalArgumentException("reference_mode: unknown value \"" + str("reference_mode") + "\" (expected cached or frozen)");
        }
        if (!java.util.List.of("auto", "bar", "lines", "none").contains(str("progress"))) {
            throw new IllegalArgumentException("progress: unknown value \"" + str("progress") + "\" (expected auto, bar, lines or none)");
        }
        lossConfig(LossConfig.LossType.ASPO);
        if (!(number("nll_weight") >= 0) || Double.isInfinite(number("nll_weight"))) {
            throw new IllegalArgumentException("nll_weight must be a finite number >= 0, got " + str("nll_weight"));
        }
        if (!str("nll_weighting").equals("uniform") && !str("nll_weighting").equals("sentence")) {
            throw new IllegalArgumentException("nll_weighting: unknown value \"" + str("nll_weighting") + "\" (expected uniform or sentence)");
        }
        LoraSettings.of(this);
    }

    public String str(String key) {
        String v = values.get(key);
        if (v == null) throw new IllegalArgumentException("unknown config key " + key);
        return v;
    }

    public boolean isSet(String key) {
        return !str(key).isEmpty();
    }

    public int integer(String key) {
        try {
            return Integer.parseInt(str(key).trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + ": expected a whole number, got \"" + str(key) + "\"");
        }
    }

    public double number(String key) {
        try {
            return Double.parseDouble(str(key).trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + ": expected a number, got \"" + str(key) + "\"");
        }
    }

    public boolean bool(String key) {
        String v = str(key).trim().toLowerCase(Locale.ROOT);
        if (v.equals("true")) return true;
        if (v.equals("false")) return false;
        throw new IllegalArgumentException(key + ": expected true or false, got \"" + str(key) + "\"");
    }

    /** A path-valued key, or null when unset. */
    public Path path(String key) {
        return isSet(key) ? Path.of(str(key)) : null;
    }

    /**
     * {@code max_shard_size} in bytes: checkpoints write their weights in shards of at most this
     * (as transformers' {@code save_pretrained(max_shard_size=...)}); {@link ShardSize#UNLIMITED}
     * when unset (one model.safetensors).
     */
    /** The {@code dtype} key: what frozen weight matrices (the reference model, parameters under {@code freeze}) are held in. */
    public Precision dtype() {
        return Precision.parse(str("dtype"), "dtype");
    }

    public long maxShardBytes() {
        if (!isSet("max_shard_size")) return ShardSize.UNLIMITED;
        try {
            return ShardSize.parse(str("max_shard_size"));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("max_shard_size: " + e.getMessage());
        }
    }

    /** A path-valued key that must be set. */
    public Path requirePath(String key) {
        if (!isSet(key)) throw new IllegalArgumentException("config key " + key + " is required (in the config file or as --" + key + ")");
        return Path.of(str(key));
    }

    /** The loss options for {@code type}. */
    public LossConfig lossConfig(LossConfig.LossType type) {
        return new LossConfig(type,
                LossConfig.parse(LossConfig.Objective.class, str("objective"), "objective"),
                number("beta"), number("label_smoothing"), number("alpha"),
                LossConfig.parse(LossConfig.Normalization.class, str("normalization"), "normalization"),
                LossConfig.parse(LossConfig.PerplexitySource.class, str("perplexity_source"), "perplexity_source"),
                LossConfig.parse(LossConfig.RejectedWeighting.class, str("rejected_weighting"), "rejected_weighting"),
                LossConfig.parse(LossConfig.WeightSource.class, str("weights"), "weights"));
    }

    /** AdamW's settings ({@code lr}, {@code adam_beta1}, {@code adam_beta2}, {@code adam_eps}, {@code weight_decay}). */
    public AdamW.Options adamW() {
        return new AdamW.Options(number("lr"), number("adam_beta1"), number("adam_beta2"), number("adam_eps"), number("weight_decay"));
    }

    /** A copy with {@code key} set (as a flag would). */
    public TrainConfig with(String key, String value) {
        Map<String, String> v = new LinkedHashMap<>(values);
        put(v, key, value, "with");
        TrainConfig c = new TrainConfig(v);
        c.validate();
        return c;
    }

    /** Every key and value (strings), in {@link #DEFAULTS} order. */
    public Map<String, String> values() {
        return Collections.unmodifiableMap(values);
    }

    /** The settings as a config file holds them: the {@code lora.*} keys that are set as a {@code lora} block. */
    public ObjectNode toJson() {
        ObjectNode o = JSON.createObjectNode();
        ObjectNode lora = null;
        for (var e : values.entrySet()) {
            String k = e.getKey();
            if (!k.startsWith(LoraSettings.PREFIX)) {
                o.put(k, e.getValue());
            } else if (!e.getValue().isEmpty()) {
                if (lora == null) lora = o.putObject("lora");
                String name = k.substring(LoraSettings.PREFIX.length());
                try {
                    if (LoraSettings.isModules(k)) lora.set(name, JSON.readTree(e.getValue()));
                    else lora.put(name, e.getValue());
                } catch (JsonProcessingException x) {
                    throw new IllegalStateException(k + " holds " + e.getValue() + ", not JSON", x);
                }
            }
        }
        return o;
    }

    /** Writes the settings as JSON (readable by {@link #load}). */
    public void save(Path file) throws IOException {
        Files.writeString(file, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(toJson()));
    }
}
