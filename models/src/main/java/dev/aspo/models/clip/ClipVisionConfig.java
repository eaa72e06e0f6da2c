package dev.aspo.models.clip;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * HF's {@code CLIPVisionConfig} (model_type {@code clip_vision_model}; the {@code vision_config}
 * of a {@code clip} config).
 *
 * <p>The keys that fix the shapes ({@code hidden_size}, {@code intermediate_size},
 * {@code num_hidden_layers}, {@code num_attention_heads}, {@code image_size}, {@code patch_size})
 * must be present; the others take transformers' defaults when absent, as transformers does.
 * Keys this engine does not use are kept in {@link #extra} and written back unchanged.
 *
 * @param extra unknown keys of the file this config was read from (never null)
 */
public record ClipVisionConfig(
        int hiddenSize,
        int intermediateSize,
        int projectionDim,
        int numHiddenLayers,
        int numAttentionHeads,
        int numChannels,
        int imageSize,
        int patchSize,
        ClipActivation hiddenAct,
        double layerNormEps,
        double attentionDropout,
        double initializerRange,
        double initializerFactor,
        ObjectNode extra) {

    public static final String MODEL_TYPE = "clip_vision_model";

    private static final Set<String> KNOWN = Set.of("hidden_size", "intermediate_size", "projection_dim",
            "num_hidden_layers", "num_attention_heads", "num_channels", "image_size", "patch_size", "hidden_act",
            "layer_norm_eps", "attention_dropout", "initializer_range", "initializer_factor", "model_type");

    public ClipVisionConfig {
        positive("hidden_size", hiddenSize);
        positive("intermediate_size", intermediateSize);
        positive("projection_dim", projectionDim);
        positive("num_hidden_layers", numHiddenLayers);
        positive("num_attention_heads", numAttentionHeads);
        positive("num_channels", numChannels);
        positive("patch_size", patchSize);
        positive("image_size", imageSize);
        if (hiddenSize % numAttentionHeads != 0) {
            throw new IllegalArgumentException("hidden_size " + hiddenSize + " is not a multiple of num_attention_heads "
                    + numAttentionHeads);
        }
        if (imageSize < patchSize) {
            throw new IllegalArgumentException("image_size " + imageSize + " is smaller than patch_size " + patchSize);
        }
        if (!(layerNormEps > 0)) throw new IllegalArgumentException("layer_norm_eps must be positive, got " + layerNormEps);
        if (hiddenAct == null) throw new IllegalArgumentException("hidden_act is null");
        extra = extra == null ? JsonNodeFactory.instance.objectNode() : extra.deepCopy();
    }

    /** A config with transformers' defaults for everything but the shapes and the activation. */
    public static ClipVisionConfig of(int hiddenSize, int intermediateSize, int numHiddenLayers, int numAttentionHeads,
                                      int imageSize, int patchSize, ClipActivation act) {
        return new ClipVisionConfig(hiddenSize, intermediateSize, 512, numHiddenLayers, numAttentionHeads, 3, imageSize,
                patchSize, act, 1e-5, 0.0, 0.02, 1.0, null);
    }

    /** Patches per side. */
    public int gridSize() {
        return imageSize / patchSize;
    }

    /** Patches per image (without the class token). */
    public int numPatches() {
        return gridSize() * gridSize();
    }

    public int headDim() {
        return hiddenSize / numAttentionHeads;
    }

    /**
     * Reads the object {@code node} of {@code file} ({@code prefix} names it in errors, e.g.
     * {@code "vision_config."}); also the {@code vision_config} of a composite model such as LLaVA.
     */
    public static ClipVisionConfig fromJson(ObjectNode node, Path file, String prefix) throws IOException {
        ClipJson j = new ClipJson(node, file, prefix);
        String type = j.optString("model_type", MODEL_TYPE);
        if (!type.equals(MODEL_TYPE)) throw j.error("model_type", "is '" + type + "', expected '" + MODEL_TYPE + "'");
        int hidden = j.requiredInt("hidden_size");
        int inter = j.requiredInt("intermediate_size");
        int layers = j.requiredInt("num_hidden_layers");
        int heads = j.requiredInt("num_attention_heads");
        int image = j.requiredSquareSize("image_size");
        int patch = j.requiredSquareSize("patch_size");
        int proj = j.optInt("projection_dim", 512);
        int channels = j.optInt("num_channels", 3);
        String act = j.optString("hidden_act", "quick_gelu");
        double eps = j.optDouble("layer_norm_eps", 1e-5);
        double dropout = j.optDouble("attention_dropout", 0.0);
        double range = j.optDouble("initializer_range", 0.02);
        double factor = j.optDouble("initializer_factor", 1.0);
        try {
            return new ClipVisionConfig(hidden, inter, proj, layers, heads, channels, image, patch, ClipActivation.fromHf(act),
                    eps, dropout, range, factor, j.extras(KNOWN));
        } catch (IllegalArgumentException e) {
            throw j.wrap(e);
        }
    }

    /** Reads a standalone {@code clip_vision_model} {@code config.json}. */
    public static ClipVisionConfig read(Path file) throws IOException {
        ObjectNode root = ClipJson.readObject(file);
        if (!root.has("model_type")) throw new IOException(file + ": key model_type is missing");
        return fromJson(root, file, "");
    }

    /** The config in HF's schema (keys sorted, unknown keys of the source file kept). */
    public ObjectNode toJson() {
        Map<String, JsonNode> f = new LinkedHashMap<>();
        JsonNodeFactory n = JsonNodeFactory.instance;
        f.put("hidden_size", n.numberNode(hiddenSize));
        f.put("intermediate_size", n.numberNode(intermediateSize));
        f.put("projection_dim", n.numberNode(projectionDim));
        f.put("num_hidden_layers", n.numberNode(numHiddenLayers));
        f.put("num_attention_heads", n.numberNode(numAttentionHeads));
        f.put("num_channels", n.numberNode(numChannels));
        f.put("image_size", n.numberNode(imageSize));
        f.put("patch_size", n.numberNode(patchSize));
        f.put("hidden_act", n.textNode(hiddenAct.hfName()));
        f.put("layer_norm_eps", n.numberNode(layerNormEps));
        f.put("attention_dropout", n.numberNode(attentionDropout));
        f.put("initializer_range", n.numberNode(initializerRange));
        f.put("initializer_factor", n.numberNode(initializerFactor));
        f.put("model_type", n.textNode(MODEL_TYPE));
        return ClipJson.sorted(f, extra);
    }

    static void positive(String key, int v) {
        if (v <= 0) throw new IllegalArgumentException(key + " must be positive, got " + v);
    }
}
