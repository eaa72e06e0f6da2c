package dev.aspo.models.clip;

import static dev.aspo.models.clip.ClipVisionConfig.positive;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * HF's {@code CLIPConfig} (model_type {@code clip}): a text tower, a vision tower, the shared
 * {@code projection_dim} and the initial {@code logit_scale}.
 *
 * <p>{@code text_config} and {@code vision_config} must be present (transformers would fill them
 * with the ViT-B/32 defaults; a checkpoint without them is almost certainly broken). The legacy
 * {@code text_config_dict}/{@code vision_config_dict} keys, where present, override them key by key
 * as transformers does.
 *
 * @param extra unknown top-level keys of the file this config was read from (never null)
 */
public record ClipConfig(
        ClipTextConfig textConfig,
        ClipVisionConfig visionConfig,
        int projectionDim,
        double logitScaleInitValue,
        double initializerFactor,
        ObjectNode extra) {

    public static final String MODEL_TYPE = "clip";

    private static final Set<String> KNOWN = Set.of("text_config", "vision_config", "text_config_dict",
            "vision_config_dict", "projection_dim", "logit_scale_init_value", "initializer_factor", "model_type");

    public ClipConfig {
        if (textConfig == null) throw new IllegalArgumentException("text_config is null");
        if (visionConfig == null) throw new IllegalArgumentException("vision_config is null");
        positive("projection_dim", projectionDim);
        extra = extra == null ? JsonNodeFactory.instance.objectNode() : extra.deepCopy();
    }

    /** transformers' defaults for {@code projection_dim} (512) would not fit tiny towers: give it. */
    public static ClipConfig of(ClipTextConfig text, ClipVisionConfig vision, int projectionDim) {
        return new ClipConfig(text, vision, projectionDim, 2.6592, 1.0, null);
    }

    public static ClipConfig read(Path file) throws IOException {
        return fromJson(ClipJson.readObject(file), file);
    }

    /** Reads a {@code clip} config object; {@code file} names it in errors. */
    public static ClipConfig fromJson(ObjectNode root, Path file) throws IOException {
        ClipJson j = new ClipJson(root, file, "");
        if (!root.has("model_type")) throw j.error("model_type", "is missing");
        String type = j.optString("model_type", "");
        if (!type.equals(MODEL_TYPE)) throw j.error("model_type", "is '" + type + "', expected '" + MODEL_TYPE + "'");
        ClipTextConfig text = ClipTextConfig.fromJson(merged(j, "text_config"), file, "text_config.");
        ClipVisionConfig vision = ClipVisionConfig.fromJson(merged(j, "vision_config"), file, "vision_config.");
        int proj = j.optInt("projection_dim", 512);
        double scale = j.optDouble("logit_scale_init_value", 2.6592);
        double factor = j.optDouble("initializer_factor", 1.0);
        try {
            return new ClipConfig(text, vision, proj, scale, factor, j.extras(KNOWN));
        } catch (IllegalArgumentException e) {
            throw j.wrap(e);
        }
    }

    /** {@code key} overridden by {@code key + "_dict"} (transformers' backward compatibility). */
    private static ObjectNode merged(ClipJson j, String key) throws IOException {
        ObjectNode base = j.optObject(key);
        ObjectNode legacy = j.optObject(key + "_dict");
        if (base == null && legacy == null) throw j.error(key, "is missing");
        ObjectNode out = base == null ? JsonNodeFactory.instance.objectNode() : base.deepCopy();
        if (legacy != null) out.setAll(legacy.deepCopy());
        return out;
    }

    /** The config in HF's schema (keys sorted, unknown keys of the source file kept). */
    public ObjectNode toJson() {
        Map<String, JsonNode> f = new LinkedHashMap<>();
        JsonNodeFactory n = JsonNodeFactory.instance;
        f.put("text_config", textConfig.toJson());
        f.put("vision_config", visionConfig.toJson());
        f.put("projection_dim", n.numberNode(projectionDim));
        f.put("logit_scale_init_value", n.numberNode(logitScaleInitValue));
        f.put("initializer_factor", n.numberNode(initializerFactor));
        f.put("model_type", n.textNode(MODEL_TYPE));
        return ClipJson.sorted(f, extra);
    }
}
