package dev.aspo.method.train;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.aspo.models.lora.LoraConfig;
import dev.aspo.models.lora.TargetModules;
import java.nio.file.Path;
import java.util.List;

/**
 * The training config's {@code lora} block, under PEFT's names: a new adapter ({@code r},
 * {@code lora_alpha}, {@code lora_dropout}, {@code target_modules}, {@code exclude_modules},
 * {@code use_rslora}; PEFT's defaults r 8, lora_alpha 8, no dropout), or {@code adapter}, a PEFT
 * adapter folder to train further (its {@code adapter_config.json} says the rest). In
 * {@link TrainConfig} the block's keys are {@code lora.<name>} ({@code --lora.r 16} as a flag);
 * {@code target_modules} and {@code exclude_modules} are kept as JSON (a list of names, or a
 * string: a regular expression), as PEFT writes them.
 *
 * @param config  the new adapter's settings (null when {@code adapter} is set)
 * @param adapter the adapter to continue (null for a new one)
 */
record LoraSettings(LoraConfig config, Path adapter) {
    static final String PREFIX = "lora.";
    /** The block's keys, in the order the docs list them. */
    static final List<String> KEYS = List.of("r", "lora_alpha", "lora_dropout", "target_modules", "exclude_modules", "use_rslora",
            "adapter");
    private static final ObjectMapper JSON = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    /** Whether {@code key} (a {@link TrainConfig} key) holds modules as JSON ({@link #modulesFromText}). */
    static boolean isModules(String key) {
        return key.equals(PREFIX + "target_modules") || key.equals(PREFIX + "exclude_modules");
    }

    /**
     * A modules value given as text (a flag, or a plain value in a file): a JSON list
     * ({@code ["q_proj","v_proj"]}) or JSON string stays as it is; any other text is a regular
     * expression ({@code .*\.(q|v)_proj}, {@code [qv]_proj}). Returns the JSON; "" stays unset.
     */
    static String modulesFromText(String text) {
        String t = text.strip();
        if (t.isEmpty()) return "";
        if (t.startsWith("[") || t.startsWith("\"")) {
            try {
                JsonNode n = JSON.readTree(t);
                if (n.isArray() || n.isTextual()) return n.toString();
            } catch (JsonProcessingException e) {
                // not JSON: a regular expression that starts with a character class
            }
        }
        return TextNode.valueOf(text).toString();
    }

    /** The block of {@code cfg}, or null when it has none (no {@code lora.*} key set). Bad values: one error naming the key. */
    static LoraSettings of(TrainConfig cfg) {
        boolean any = false;
        for (String k : KEYS) any |= cfg.isSet(PREFIX + k);
        if (!any) return null;
        if (cfg.isSet(PREFIX + "adapter")) {
            for (String k : KEYS) {
                if (!k.equals("adapter") && cfg.isSet(PREFIX + k)) {
                    throw new IllegalArgumentException(PREFIX + k + " cannot be set with lora.adapter: the adapter's "
                            + LoraConfig.FILE + " sets it");
                }
            }
            return new LoraSettings(null, cfg.path(PREFIX + "adapter"));
        }
        if (!cfg.isSet(PREFIX + "target_modules")) {
            throw new IllegalArgumentException("lora.target_modules is required in a lora block: the linear layers that get adapters,"
                    + " a list of module names ([q_proj, v_proj]) or a regular expression, as in PEFT; or give lora.adapter to"
                    + " continue an adapter");
        }
        int r = cfg.isSet(PREFIX + "r") ? cfg.integer(PREFIX + "r") : 8;
        if (r < 1) throw new IllegalArgumentException("lora.r must be a whole number >= 1, got " + cfg.str(PREFIX + "r"));
        double alpha = cfg.isSet(PREFIX + "lora_alpha") ? cfg.number(PREFIX + "lora_alpha") : 8;
        if (!(alpha > 0) || Double.isInfinite(alpha)) {
            throw new IllegalArgumentException("lora.lora_alpha must be a finite number > 0, got " + cfg.str(PREFIX + "lora_alpha"));
        }
        double dropout = cfg.isSet(PREFIX + "lora_dropout") ? cfg.number(PREFIX + "lora_dropout") : 0;
        if (!(dropout >= 0 && dropout < 1)) {
            throw new IllegalArgumentException("lora.lora_dropout must be in [0, 1), got " + cfg.str(PREFIX + "lora_dropout"));
        }
        boolean rslora = cfg.isSet(PREFIX + "use_rslora") && cfg.bool(PREFIX + "use_rslora");
        String base = cfg.isSet("model") ? cfg.path("model").toAbsolutePath().normalize().toString() : null;
        return new LoraSettings(new LoraConfig(r, alpha, dropout, modules(cfg, "target_modules"),
                cfg.isSet(PREFIX + "exclude_modules") ? modules(cfg, "exclude_modules") : null, rslora, "CAUSAL_LM", base), null);
    }

    private static TargetModules modules(TrainConfig cfg, String name) {
        String key = PREFIX + name;
        try {
            TargetModules m = TargetModules.fromJson(JSON.readTree(cfg.str(key)), key);
            if (name.equals("exclude_modules") && m.isAllLinear()) throw new IllegalArgumentException("cannot be \"all-linear\"");
            return m;
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(key + ": not a list of module names or a regular expression: " + cfg.str(key));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(e.getMessage().startsWith(key) ? e.getMessage() : key + ": " + e.getMessage(), e);
        }
    }

    /** Whether the adapter applies dropout while training (known once a continued adapter is read). */
    boolean dropout() {
        return config != null && config.loraDropout() > 0;
    }
}
