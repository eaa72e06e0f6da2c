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
 * HF's {@code CLIPTextConfig} (the {@code text_config} of a {@code clip} config).
 *
 * <p>{@code hidden_size}, {@code intermediate_size}, {@code num_hidden_layers},
 * {@code num_attention_heads}, {@code vocab_size} and {@code max_position_embeddings} must be
 * present; the others take transformers' defaults when absent. {@code eos_token_id} decides the
 * pooling position (see {@link ClipTextTransformer}); a list there is not supported.
 *
 * @param padTokenId may be null
 * @param bosTokenId may be null
 * @param eosTokenId may be null (then the text tower cannot pool)
 * @param extra unknown keys of the file this config was read from (never null)
 */
public record ClipTextConfig(
        int vocabSize,
        int hiddenSize,
        int intermediateSize,
        int projectionDim,
        int numHiddenLayers,
        int numAttentionHeads,
        int maxPositionEmbeddings,
        ClipActivation hiddenAct,
        double layerNormEps,
        double attentionDropout,
        double initializerRange,
        double initializerFactor,
        Integer padTokenId,
        Integer bosTokenId,
        Integer eosTokenId,
        ObjectNode extra) {

    public static final String MODEL_TYPE = "clip_text_model";

    private static final Set<String> KNOWN = Set.of("vocab_size", "hidden_size", "intermediate_size", "projection_dim",
            "num_hidden_layers", "num_attention_heads", "max_position_embeddings", "hidden_act", "layer_norm_eps",
            "attention_dropout", "initializer_range", "initializer_factor", "pad_token_id", "bos_token_id",
            "eos_token_id", "model_type");

    public ClipTextConfig {
        positive("vocab_size", vocabSize);
        positive("hidden_size", hiddenSize);
        positive("intermediate_size", intermediateSize);
        positive("projection_dim", projectionDim);
        positive("num_hidden_layers", numHiddenLayers);
        positive("num_attention_heads", numAttentionHeads);
        positive("max_position_embeddings", maxPositionEmbeddings);
        if (hiddenSize % numAttentionHeads != 0) {
            throw new IllegalArgumentException("hidden_size " + hiddenSize + " is not a multiple of num_attention_heads "
                    + numAttentionHeads);
        }
        if (!(layerNormEps > 0)) throw new IllegalArgumentException("layer_norm_eps must be positive, got " + layerNormEps);
        if (hiddenAct == null) throw new IllegalArgumentException("hidden_act is null");
        extra = extra == null ? JsonNodeFactory.instance.objectNode() : extra.deepCopy();
    }

    /** A config with transformers' defaults for everything but the shapes, the activation and the eos id. */
    public static ClipTextConfig of(int vocabSize, int hiddenSize, int intermediateSize, int numHiddenLayers,
                                    int numAttentionHeads, int maxPositionEmbeddings, ClipActivation act, int eosTokenId) {
        return new ClipTextConfig(vocabSize, hiddenSize, intermediateSize, 512, numHiddenLayers, numAttentionHeads,
                maxPositionEmbeddings, act, 1e-5, 0.0, 0.02, 1.0, 1, 49406, eosTokenId, null);
    }

    /** The same config with another {@code eos_token_id}. */
    public ClipTextConfig withEosTokenId(Integer eos) {
        return new ClipTextConfig(vocabSize, hiddenSize, intermediateSize, projectionDim, numHiddenLayers,
                numAttentionHeads, maxPositionEmbeddings, hiddenAct, layerNormEps, attentionDropout, initializerRange,
                initializerFactor, padTokenId, bosTokenId, eos, extra);
    }

    public int headDim() {
        return hiddenSize / numAttentionHeads;
    }

    /** Reads a {@code text_config} object; {@code file} and {@code prefix} name it in errors. */
    public static ClipTextConfig fromJson(ObjectNode node, Path file, String prefix) throws IOException {
        ClipJson j = new ClipJson(node, file, prefix);
        String type = j.optString("model_type", MODEL_TYPE);
        if (!type.equals(MODEL_TYPE)) throw j.error("model_type", "is '" + type + "', expected '" + MODEL_TYPE + "'");
        int vocab = j.requiredInt("vocab_size");
        int hidden = j.requiredInt("hidden_size");
        int inter = j.requiredInt("intermediate_size");
        int layers = j.requiredInt("num_hidden_layers");
        int heads = j.requiredInt("num_attention_heads");
        int maxPos = j.requiredInt("max_position_embeddings");
        int proj = j.optInt("projection_dim", 512);
        String act = j.optString("hidden_act", "quick_gelu");
        double eps = j.optDouble("layer_norm_eps", 1e-5);
        double dropout = j.optDouble("attention_dropout", 0.0);
        double range = j.optDouble("initializer_range", 0.02);
        double factor = j.optDouble("initializer_factor", 1.0);
        Integer pad = j.optNullableInt("pad_token_id", 1);
        Integer bos = j.optNullableInt("bos_token_id", 49406);
        Integer eos = j.optNullableInt("eos_token_id", 49407);
        try {
            return new ClipTextConfig(vocab, hidden, inter, proj, layers, heads, maxPos, ClipActivation.fromHf(act), eps,
                    dropout, range, factor, pad, bos, eos, j.extras(KNOWN));
        } catch (IllegalArgumentException e) {
            throw j.wrap(e);
        }
    }

    public ObjectNode toJson() {
        Map<String, JsonNode> f = new LinkedHashMap<>();
        JsonNodeFactory n = JsonNodeFactory.instance;
        f.put("vocab_size", n.numberNode(vocabSize));
        f.put("hidden_size", n.numberNode(hiddenSize));
        f.put("intermediate_size", n.numberNode(intermediateSize));
        f.put("projection_dim", n.numberNode(projectionDim));
        f.put("num_hidden_layers", n.numberNode(numHiddenLayers));
        f.put("num_attention_heads", n.numberNode(numAttentionHeads));
        f.put("max_position_embeddings", n.numberNode(maxPositionEmbeddings));
        f.put("hidden_act", n.textNode(hiddenAct.hfName()));
        f.put("layer_norm_eps", n.numberNode(layerNormEps));
        f.put("attention_dropout", n.numberNode(attentionDropout));
        f.put("initializer_range", n.numberNode(initializerRange));
        f.put("initializer_factor", n.numberNode(initializerFactor));
        f.put("pad_token_id", padTokenId == null ? n.nullNode() : n.numberNode(padTokenId));
        f.put("bos_token_id", bosTokenId == null ? n.nullNode() : n.numberNode(bosTokenId));
        f.put("eos_token_id", eosTokenId == null ? n.nullNode() : n.numberNode(eosTokenId));
        f.put("model_type", n.textNode(MODEL_TYPE));
        return ClipJson.sorted(f, extra);
    }
}
