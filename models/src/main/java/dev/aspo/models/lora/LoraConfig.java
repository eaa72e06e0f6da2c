package dev.aspo.models.lora;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.aspo.models.hf.HfJson;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A LoRA adapter's settings under PEFT's names, and its {@code adapter_config.json}.
 *
 * <pre>
 *   y = base(x) + (dropout(x) A^T B^T) * scaling      A [r, in], B [out, r]
 *   scaling = lora_alpha / r          (use_rslora: lora_alpha / sqrt(r))
 * </pre>
 *
 * @param r                   the rank, {@code > 0}
 * @param loraAlpha           {@code lora_alpha}, {@code > 0}
 * @param loraDropout         {@code lora_dropout}: dropout on the adapter's input while training, in {@code [0, 1)}
 * @param targetModules       which linear layers get an adapter ({@link TargetModules})
 * @param excludeModules      {@code exclude_modules}: which of those do not (same rules), or null
 * @param useRslora           {@code use_rslora}: rank-stabilised scaling
 * @param taskType            PEFT's {@code task_type} ({@code "CAUSAL_LM"}, ...), or null; it only picks
 *                            which {@code PeftModel} class PEFT wraps the model in
 * @param baseModelNameOrPath {@code base_model_name_or_path}, or null
 *
 * <p>Only what this engine implements is accepted when reading: plain LoRA on linear layers
 * ({@code bias "none"}, no DoRA, no {@code modules_to_save}, no per-module rank or alpha patterns,
 * no {@code layers_to_transform}, ...); a file that asks for more is one error naming the key.
 */
public record LoraConfig(int r, double loraAlpha, double loraDropout, TargetModules targetModules,
                         TargetModules excludeModules, boolean useRslora, String taskType, String baseModelNameOrPath) {
    /** The file PEFT's {@code save_pretrained} writes the settings to. */
    public static final String FILE = "adapter_config.json";

    public LoraConfig {
        if (r <= 0) throw new IllegalArgumentException("LoRA: r must be a positive integer, got " + r);
        if (!(loraAlpha > 0) || !Double.isFinite(loraAlpha)) {
            throw new IllegalArgumentException("LoRA: lora_alpha must be a positive number, got " + loraAlpha);
        }
        if (!(loraDropout >= 0 && loraDropout < 1)) {
            throw new IllegalArgumentException("LoRA: lora_dropout must be in [0, 1), got " + loraDropout);
        }
        if (targetModules == null) throw new IllegalArgumentException("LoRA: target_modules is required");
        if (excludeModules != null && excludeModules.isAllLinear()) {
            throw new IllegalArgumentException("LoRA: exclude_modules cannot be \"all-linear\"");
        }
    }

    /** {@code r}, {@code lora_alpha} and the targets; no dropout, no exclusions, plain scaling, no task type. */
    public static LoraConfig of(int r, double loraAlpha, TargetModules targetModules) {
        return new LoraConfig(r, loraAlpha, 0.0, targetModules, null, false, null, null);
    }

    public LoraConfig withDropout(double p) {
        return new LoraConfig(r, loraAlpha, p, targetModules, excludeModules, useRslora, taskType, baseModelNameOrPath);
    }

    public LoraConfig withExcludeModules(TargetModules exclude) {
        return new LoraConfig(r, loraAlpha, loraDropout, targetModules, exclude, useRslora, taskType, baseModelNameOrPath);
    }

    public LoraConfig withRslora(boolean on) {
        return new LoraConfig(r, loraAlpha, loraDropout, targetModules, excludeModules, on, taskType, baseModelNameOrPath);
    }

    public LoraConfig withTaskType(String type) {
        return new LoraConfig(r, loraAlpha, loraDropout, targetModules, excludeModules, useRslora, type, baseModelNameOrPath);
    }

    public LoraConfig withBaseModel(String nameOrPath) {
        return new LoraConfig(r, loraAlpha, loraDropout, targetModules, excludeModules, useRslora, taskType, nameOrPath);
    }

    public LoraConfig withTargetModules(TargetModules targets) {
        return new LoraConfig(r, loraAlpha, loraDropout, targets, excludeModules, useRslora, taskType, baseModelNameOrPath);
    }

    /** What the adapter's product is multiplied by: {@code lora_alpha / r}, or {@code lora_alpha / sqrt(r)} with rsLoRA. */
    public double scaling() {
        return useRslora ? loraAlpha / Math.sqrt(r) : loraAlpha / r;
    }

    // ---- adapter_config.json ------------------------------------------------------------------

    /**
     * Keys PEFT writes whose only accepted value is "off" (null, false, empty, or the one given):
     * the LoRA variants and extras this engine does not implement.
     */
    private static final List<String> OFF_KEYS = List.of("modules_to_save", "layers_to_transform", "layers_pattern",
            "layer_replication", "target_parameters", "trainable_token_indices", "alora_invocation_tokens", "megatron_config",
            "arrow_config", "use_dora", "lora_bias", "use_qalora", "use_bdlora", "fan_in_fan_out", "rank_pattern", "alpha_pattern");

    /** Reads {@code dir/adapter_config.json} (or the file itself); every problem is one error naming the file and key. */
    public static LoraConfig load(Path path) throws IOException {
        Path file = Files.isDirectory(path) ? path.resolve(FILE) : path;
        if (!Files.exists(file)) {
            throw new IOException(path + ": no " + FILE + " (not a PEFT adapter directory: save_pretrained writes " + FILE
                    + " and adapter_model.safetensors)");
        }
        return fromJson(HfJson.readObject(file), file.toString());
    }

    /** A config from a parsed {@code adapter_config.json}; {@code where} names it in errors. */
    public static LoraConfig fromJson(JsonNode o, String where) {
        String type = HfJson.optString(o, "peft_type", null, where);
        if (type == null) throw new IllegalArgumentException(where + ": \"peft_type\" is missing (expected \"LORA\")");
        if (!type.equals("LORA")) {
            throw new IllegalArgumentException(where + ": \"peft_type\" is \"" + type + "\"; only LORA adapters are supported");
        }
        String bias = HfJson.optString(o, "bias", "none", where);
        if (!bias.equals("none")) {
            throw new IllegalArgumentException(where + ": \"bias\" is \"" + bias + "\"; only \"none\" is supported (no trained biases)");
        }
        for (String k : OFF_KEYS) {
            JsonNode n = o.get(k);
            boolean off = n == null || n.isNull() || (n.isBoolean() && !n.booleanValue()) || (n.isContainerNode() && n.isEmpty());
            if (!off) throw new IllegalArgumentException(where + ": \"" + k + "\" is " + n + "; this LoRA variant is not supported");
        }
        if (HfJson.absent(o, "target_modules")) {
            throw new IllegalArgumentException(where + ": \"target_modules\" is missing (which modules the adapter is on)");
        }
        TargetModules targets = field(where, "target_modules", o.get("target_modules"));
        TargetModules exclude = HfJson.absent(o, "exclude_modules") ? null : field(where, "exclude_modules", o.get("exclude_modules"));
        int r = HfJson.optInt(o, "r", 8, where);
        double alpha = HfJson.optDouble(o, "lora_alpha", 8, where);
        double dropout = HfJson.optDouble(o, "lora_dropout", 0.0, where);
        try {
            return new LoraConfig(r, alpha, dropout, targets, exclude, HfJson.optBool(o, "use_rslora", false, where),
                    HfJson.optString(o, "task_type", null, where), HfJson.optString(o, "base_model_name_or_path", null, where));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(where + ": " + e.getMessage().replaceFirst("^LoRA: ", ""), e);
        }
    }

    private static TargetModules field(String where, String key, JsonNode n) {
        try {
            return TargetModules.fromJson(n, "\"" + key + "\"");
        } catch (IllegalArgumentException e) {
            String m = e.getMessage();
            throw new IllegalArgumentException(where + ": " + (m.startsWith("\"") ? m : "\"" + key + "\": " + m), e);
        }
    }

    /**
     * The settings as PEFT writes them (its keys for plain LoRA; {@code inference_mode: true}, as
     * {@code save_pretrained} records); {@code autoMapping} names transformers' model class, for
     * PEFT's {@code AutoPeftModel}, or is null.
     */
    public ObjectNode toJson(ObjectNode autoMapping) {
        ObjectNode o = HfJson.object();
        o.set("alpha_pattern", HfJson.object());
        if (autoMapping != null) o.set("auto_mapping", autoMapping);
        else o.putNull("auto_mapping");
        if (baseModelNameOrPath == null) o.putNull("base_model_name_or_path");
        else o.put("base_model_name_or_path", baseModelNameOrPath);
        o.put("bias", "none");
        if (excludeModules == null) o.putNull("exclude_modules");
        else o.set("exclude_modules", excludeModules.toJson());
        o.put("fan_in_fan_out", false);
        o.put("inference_mode", true);
        o.put("init_lora_weights", true);
        o.putNull("layers_pattern");
        o.putNull("layers_to_transform");
        if (loraAlpha == Math.rint(loraAlpha) && Math.abs(loraAlpha) < 1e15) o.put("lora_alpha", (long) loraAlpha);
        else o.put("lora_alpha", loraAlpha);
        o.put("lora_bias", false);
        o.put("lora_dropout", loraDropout);
        o.putNull("modules_to_save");
        o.put("peft_type", "LORA");
        o.put("r", r);
        o.set("rank_pattern", HfJson.object());
        o.putNull("revision");
        o.set("target_modules", targetModules.toJson());
        if (taskType == null) o.putNull("task_type");
        else o.put("task_type", taskType);
        o.put("use_dora", false);
        o.put("use_rslora", useRslora);
        return o;
    }
}
