package dev.aspo.models.llava;

import static dev.aspo.models.hf.HfJson.absent;
import static dev.aspo.models.hf.HfJson.bad;
import static dev.aspo.models.hf.HfJson.optBool;
import static dev.aspo.models.hf.HfJson.optInt;
import static dev.aspo.models.hf.HfJson.optString;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.aspo.models.clip.ClipVisionConfig;
import dev.aspo.models.hf.HfJson;
import dev.aspo.models.llama.LlamaConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;

/**
 * The hyper-parameters of a LLaVA model, read from and written to Hugging Face's
 * {@code config.json} ({@code model_type "llava"}, the schema transformers 5.17 writes):
 * a {@code vision_config} ({@link ClipVisionConfig}, {@code clip_vision_model}), a
 * {@code text_config} ({@link LlamaConfig}, {@code llama}) and the keys that join them:
 *
 * <pre>
 *   image_token_index (alias image_token_id)  the id that marks one image feature in input_ids (32000)
 *   vision_feature_layer                      index into the tower's hidden_states, Python style
 *                                             (-2), or a list of them (features concatenated)
 *   vision_feature_select_strategy            "default" drops the class token, "full" keeps it
 *   projector_hidden_act                      the projector's activation ("gelu")
 *   multimodal_projector_bias                 biases in linear_1 and linear_2 (true)
 *   image_seq_length                          kept for the processor (576); not used by the model
 *   tie_word_embeddings                       lm_head shares embed_tokens; true also when only the
 *                                             text_config says so, as transformers' LlavaConfig does
 * </pre>
 *
 * Absent keys take transformers' defaults; an absent {@code vision_config} is LLaVA-1.5's
 * ViT-L/14-336 tower, an absent {@code text_config} Llama's defaults, as {@code LlavaConfig}
 * builds them. Keys this engine does not interpret ({@code ignore_index}, a top-level
 * {@code pad_token_id}, ...) are kept and written back. Immutable.
 */
public final class LlavaConfig {
    public static final String FILE = "config.json";
    public static final String MODEL_TYPE = "llava";
    public static final String ARCHITECTURE = "LlavaForConditionalGeneration";

    public final ClipVisionConfig visionConfig;
    /** The language model's config, with {@code tie_word_embeddings} as the model applies it. */
    public final LlamaConfig textConfig;
    public final int imageTokenIndex;
    public final int imageSeqLength;
    public final String projectorHiddenAct;
    /** {@code "default"} (class token dropped) or {@code "full"}. */
    public final String visionFeatureSelectStrategy;
    public final boolean multimodalProjectorBias;
    public final boolean tieWordEmbeddings;
    private final int[] visionFeatureLayers;
    /** Whether {@code vision_feature_layer} is a list (written back the same way). */
    private final boolean featureLayerIsList;
    private final ObjectNode extras;

    private static final Set<String> OWN_KEYS = Set.of("model_type", "vision_config", "text_config", "image_token_index",
            "image_token_id", "image_seq_length", "projector_hidden_act", "vision_feature_select_strategy",
            "vision_feature_layer", "multimodal_projector_bias", "tie_word_embeddings", "architectures", "dtype",
            "torch_dtype");

    private LlavaConfig(Builder b, String where) {
        this.visionConfig = b.visionConfig;
        this.tieWordEmbeddings = b.tieWordEmbeddings || b.textConfig.tieWordEmbeddings;
        this.textConfig = b.textConfig.tieWordEmbeddings == tieWordEmbeddings ? b.textConfig
                : b.textConfig.toBuilder().tieWordEmbeddings(tieWordEmbeddings).build();
        this.imageTokenIndex = b.imageTokenIndex;
        this.imageSeqLength = b.imageSeqLength;
        this.projectorHiddenAct = b.projectorHiddenAct;
        this.visionFeatureSelectStrategy = b.visionFeatureSelectStrategy;
        this.multimodalProjectorBias = b.multimodalProjectorBias;
        this.visionFeatureLayers = b.visionFeatureLayers.clone();
        this.featureLayerIsList = b.featureLayerIsList;
        this.extras = b.extras == null ? HfJson.object() : b.extras.deepCopy();
        validate(where);
    }

    private void validate(String where) {
        if (visionConfig == null) throw new IllegalArgumentException(where + ": \"vision_config\" is missing");
        if (textConfig == null) throw new IllegalArgumentException(where + ": \"text_config\" is missing");
        if (!"default".equals(visionFeatureSelectStrategy) && !"full".equals(visionFeatureSelectStrategy)) {
            throw new IllegalArgumentException(where + ": \"vision_feature_select_strategy\" is \"" + visionFeatureSelectStrategy
                    + "\"; expected \"default\" (drop the class token) or \"full\"");
        }
        if (visionFeatureLayers.length == 0) {
            throw new IllegalArgumentException(where + ": \"vision_feature_layer\" is an empty list");
        }
        int states = visionConfig.numHiddenLayers() + 1;
        for (int l : visionFeatureLayers) {
            if (l < -states || l >= states) {
                throw new IllegalArgumentException(where + ": \"vision_feature_layer\" " + l + " is outside [-" + states + ", "
                        + states + "): the vision tower has " + visionConfig.numHiddenLayers() + " layers, so "
                        + states + " hidden states");
            }
        }
        if (imageSeqLength < 0) {
            throw new IllegalArgumentException(where + ": \"image_seq_length\" must be >= 0, got " + imageSeqLength);
        }
        try {
            LlavaProjector.checkActivation(projectorHiddenAct);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(where + ": \"projector_hidden_act\" " + e.getMessage());
        }
    }

    /** The indices into the vision tower's hidden states, as given (may be negative); a copy. */
    public int[] visionFeatureLayers() {
        return visionFeatureLayers.clone();
    }

    /** {@code visionFeatureLayers()} as indices in {@code [0, num_hidden_layers]}. */
    public int[] visionFeatureLayerIndices() {
        int states = visionConfig.numHiddenLayers() + 1;
        int[] out = new int[visionFeatureLayers.length];
        for (int i = 0; i < out.length; i++) out[i] = visionFeatureLayers[i] < 0 ? visionFeatureLayers[i] + states : visionFeatureLayers[i];
        return out;
    }

    /** Whether the class token is kept ({@code "full"}). */
    public boolean keepsClassToken() {
        return "full".equals(visionFeatureSelectStrategy);
    }

    /** Image features (= image tokens in {@code input_ids}) per image: the patches, plus the class token for "full". */
    public int featuresPerImage() {
        return visionConfig.numPatches() + (keepsClassToken() ? 1 : 0);
    }

    /** The projector's input width: the tower's hidden size times the number of feature layers. */
    public int projectorInputSize() {
        return visionConfig.hiddenSize() * visionFeatureLayers.length;
    }

    // ---- reading ------------------------------------------------------------------------------

    /** Reads {@code dir/config.json} (or {@code path} itself when it is a file). */
    public static LlavaConfig load(Path path) throws IOException {
        Path file = Files.isDirectory(path) ? path.resolve(FILE) : path;
        ObjectNode root = HfJson.readObject(file);
        if (absent(root, "model_type")) {
            throw new IllegalArgumentException(file + ": \"model_type\" is missing (expected \"" + MODEL_TYPE + "\")");
        }
        return fromJson(root, file);
    }

    /** A config from a parsed {@code config.json} object; {@code file} names it in errors. */
    public static LlavaConfig fromJson(ObjectNode root, Path file) throws IOException {
        String where = String.valueOf(file);
        String type = optString(root, "model_type", MODEL_TYPE, where);
        if (!MODEL_TYPE.equals(type)) {
            throw new IllegalArgumentException(where + ": \"model_type\" is \"" + type + "\", expected \"" + MODEL_TYPE + "\"");
        }
        Builder b = new Builder();
        b.visionConfig = ClipVisionConfig.fromJson(subConfig(root, "vision_config", where, llava15Vision()), file,
                "vision_config.");
        b.textConfig = LlamaConfig.fromJson(subConfig(root, "text_config", where, HfJson.object()),
                HfJson.where(file, "text_config"));
        // image_token_index is the stored name; image_token_id the attribute transformers maps onto it
        b.imageTokenIndex = !absent(root, "image_token_index") ? optInt(root, "image_token_index", 0, where)
                : optInt(root, "image_token_id", b.imageTokenIndex, where);
        b.imageSeqLength = optInt(root, "image_seq_length", b.imageSeqLength, where);
        b.projectorHiddenAct = optString(root, "projector_hidden_act", b.projectorHiddenAct, where);
        b.visionFeatureSelectStrategy = optString(root, "vision_feature_select_strategy", b.visionFeatureSelectStrategy,
                where);
        readFeatureLayers(root, where, b);
        b.multimodalProjectorBias = optBool(root, "multimodal_projector_bias", b.multimodalProjectorBias, where);
        b.tieWordEmbeddings = optBool(root, "tie_word_embeddings", b.tieWordEmbeddings, where);
        ObjectNode extras = HfJson.object();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            var e = it.next();
            if (!OWN_KEYS.contains(e.getKey())) extras.set(e.getKey(), e.getValue().deepCopy());
        }
        b.extras = extras;
        return new LlavaConfig(b, where);
    }

    private static ObjectNode subConfig(ObjectNode root, String key, String where, ObjectNode dflt) {
        if (absent(root, key)) return dflt;
        JsonNode n = root.get(key);
        if (!n.isObject()) throw bad(where, key, "an object", n);
        return (ObjectNode) n;
    }

    /** transformers' LlavaConfig default vision tower (LLaVA-1.5's CLIP ViT-L/14 at 336 pixels). */
    private static ObjectNode llava15Vision() {
        ObjectNode o = HfJson.object();
        o.put("model_type", ClipVisionConfig.MODEL_TYPE);
        o.put("intermediate_size", 4096);
        o.put("hidden_size", 1024);
        o.put("patch_size", 14);
        o.put("image_size", 336);
        o.put("num_hidden_layers", 24);
        o.put("num_attention_heads", 16);
        o.put("vocab_size", 32000);
        o.put("projection_dim", 768);
        return o;
    }

    private static void readFeatureLayers(ObjectNode root, String where, Builder b) {
        if (absent(root, "vision_feature_layer")) return;
        JsonNode n = root.get("vision_feature_layer");
        if (n.isArray()) {
            int[] ls = new int[n.size()];
            for (int i = 0; i < ls.length; i++) {
                if (!n.get(i).isIntegralNumber() || !n.get(i).canConvertToInt()) {
                    throw bad(where, "vision_feature_layer", "an integer or a list of integers", n);
                }
                ls[i] = n.get(i).intValue();
            }
            b.visionFeatureLayers = ls;
            b.featureLayerIsList = true;
        } else {
            if (!n.isIntegralNumber() || !n.canConvertToInt()) {
                throw bad(where, "vision_feature_layer", "an integer or a list of integers", n);
            }
            b.visionFeatureLayers = new int[] {n.intValue()};
            b.featureLayerIsList = false;
        }
    }

    // ---- writing ------------------------------------------------------------------------------

    /**
     * The {@code config.json} object in transformers 5.17's schema, with the kept extras;
     * {@code dtype} is {@code float32} (we save F32) and the sub-configs carry no dtype of their own.
     */
    public ObjectNode toJson() {
        ObjectNode o = HfJson.object();
        o.setAll(extras.deepCopy());
        o.putArray("architectures").add(ARCHITECTURE);
        o.put("model_type", MODEL_TYPE);
        o.set("vision_config", visionJson());
        o.set("text_config", textConfig.toSubConfigJson());
        o.put("image_token_index", imageTokenIndex);
        o.put("image_seq_length", imageSeqLength);
        o.put("projector_hidden_act", projectorHiddenAct);
        o.put("vision_feature_select_strategy", visionFeatureSelectStrategy);
        if (featureLayerIsList) {
            ArrayNode a = o.putArray("vision_feature_layer");
            for (int l : visionFeatureLayers) a.add(l);
        } else {
            o.put("vision_feature_layer", visionFeatureLayers[0]);
        }
        o.put("multimodal_projector_bias", multimodalProjectorBias);
        o.put("tie_word_embeddings", tieWordEmbeddings);
        o.put("dtype", "float32");
        return o;
    }

    /** The vision sub-config; a dtype it carried would make transformers build the tower in it: dropped. */
    private ObjectNode visionJson() {
        ObjectNode v = visionConfig.toJson();
        v.remove("dtype");
        v.remove("torch_dtype");
        v.put("model_type", ClipVisionConfig.MODEL_TYPE);
        return v;
    }

    /** Writes {@code dir/config.json} atomically (keys sorted, as transformers writes it). */
    public void save(Path dir) throws IOException {
        HfJson.writeObject(dir.resolve(FILE), toJson());
    }

    // ---- building -----------------------------------------------------------------------------

    /** A builder with transformers' defaults for everything but the two towers. */
    public static Builder builder(ClipVisionConfig vision, LlamaConfig text) {
        Builder b = new Builder();
        b.visionConfig = vision;
        b.textConfig = text;
        return b;
    }

    /** This config as a builder (to derive a variant). */
    public Builder toBuilder() {
        Builder b = builder(visionConfig, textConfig);
        b.imageTokenIndex = imageTokenIndex;
        b.imageSeqLength = imageSeqLength;
        b.projectorHiddenAct = projectorHiddenAct;
        b.visionFeatureSelectStrategy = visionFeatureSelectStrategy;
        b.multimodalProjectorBias = multimodalProjectorBias;
        b.tieWordEmbeddings = tieWordEmbeddings;
        b.visionFeatureLayers = visionFeatureLayers.clone();
        b.featureLayerIsList = featureLayerIsList;
        b.extras = extras.deepCopy();
        return b;
    }

    /** Fluent builder; defaults are transformers' {@code LlavaConfig} defaults. */
    public static final class Builder {
        private ClipVisionConfig visionConfig;
        private LlamaConfig textConfig;
        private int imageTokenIndex = 32000, imageSeqLength = 576;
        private String projectorHiddenAct = "gelu", visionFeatureSelectStrategy = "default";
        private boolean multimodalProjectorBias = true, tieWordEmbeddings;
        private int[] visionFeatureLayers = {-2};
        private boolean featureLayerIsList;
        private ObjectNode extras;

        private Builder() {}

        public Builder visionConfig(ClipVisionConfig v) { visionConfig = v; return this; }
        public Builder textConfig(LlamaConfig v) { textConfig = v; return this; }
        public Builder imageTokenIndex(int v) { imageTokenIndex = v; return this; }
        public Builder imageSeqLength(int v) { imageSeqLength = v; return this; }
        public Builder projectorHiddenAct(String v) { projectorHiddenAct = v; return this; }
        public Builder visionFeatureSelectStrategy(String v) { visionFeatureSelectStrategy = v; return this; }
        public Builder multimodalProjectorBias(boolean v) { multimodalProjectorBias = v; return this; }
        public Builder tieWordEmbeddings(boolean v) { tieWordEmbeddings = v; return this; }
        /** One hidden-state index (Python style: -1 is the last layer's output). */
        public Builder visionFeatureLayer(int v) { visionFeatureLayers = new int[] {v}; featureLayerIsList = false; return this; }
        /** Several indices: their features are concatenated along the feature axis. */
        public Builder visionFeatureLayers(int... v) { visionFeatureLayers = v.clone(); featureLayerIsList = true; return this; }

        /** Validates and builds; a bad value is an {@link IllegalArgumentException} naming the key. */
        public LlavaConfig build() {
            return new LlavaConfig(this, "LlavaConfig");
        }
    }

    @Override
    public String toString() {
        return "LlavaConfig(vision " + visionConfig.hiddenSize() + " x " + visionConfig.numHiddenLayers() + " layers, "
                + visionConfig.numPatches() + " patches; text " + textConfig + "; image token " + imageTokenIndex
                + ", feature layer " + (featureLayerIsList ? Arrays.toString(visionFeatureLayers) : visionFeatureLayers[0])
                + ", " + visionFeatureSelectStrategy + ", projector " + projectorHiddenAct + ")";
    }
}
