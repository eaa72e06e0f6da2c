package dev.aspo.models.llama;

import static dev.aspo.models.hf.HfJson.absent;
import static dev.aspo.models.hf.HfJson.bad;
import static dev.aspo.models.hf.HfJson.optBool;
import static dev.aspo.models.hf.HfJson.optDouble;
import static dev.aspo.models.hf.HfJson.optInt;
import static dev.aspo.models.hf.HfJson.optIntOrNull;
import static dev.aspo.models.hf.HfJson.optString;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.aspo.models.hf.HfJson;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;

/**
 * The hyper-parameters of a Llama decoder, read from and written to Hugging Face's
 * {@code config.json} ({@code model_type "llama"}, the schema transformers 5.17 writes).
 *
 * <p>Absent keys take transformers' {@code LlamaConfig} defaults, as {@code from_pretrained} does
 * (LLaVA checkpoints rely on that: their {@code text_config} often lists only a few keys). RoPE
 * parameters are read where transformers 5 keeps them ({@code rope_parameters}) and where older
 * files do ({@code rope_scaling}, a top-level {@code rope_theta}); only the plain ({@code default})
 * rotation is implemented, any scaling type is refused. Keys this engine does not interpret
 * ({@code architectures}, {@code use_cache}, ...) are kept and written back unchanged.
 *
 * <p>Immutable; build one with {@link #builder()} or read one with {@link #load}/{@link #fromJson}.
 */
public final class LlamaConfig {
    public static final String FILE = "config.json";
    public static final String MODEL_TYPE = "llama";

    public final int vocabSize;
    public final int hiddenSize;
    public final int intermediateSize;
    public final int numHiddenLayers;
    public final int numAttentionHeads;
    public final int numKeyValueHeads;
    public final int headDim;
    public final double rmsNormEps;
    public final double ropeTheta;
    public final boolean tieWordEmbeddings;
    public final boolean attentionBias;
    public final boolean mlpBias;
    public final String hiddenAct;
    public final int maxPositionEmbeddings;
    public final double initializerRange;
    /** Token ids; null where the config has none. */
    public final Integer bosTokenId, padTokenId;
    /** End-of-sequence ids (transformers allows an int or a list); empty for none. */
    private final int[] eosTokenIds;
    /** Whether {@code eos_token_id} was a list (written back the same way). */
    private final boolean eosIsList;
    /** The {@code dtype} the checkpoint declared ({@code float32} for ours: we always save F32). */
    public final String dtype;
    /** Keys not interpreted here, written back as they came. */
    private final ObjectNode extras;

    /** Keys this class reads (and writes in its own form); everything else is an extra. */
    private static final Set<String> OWN_KEYS = Set.of("model_type", "vocab_size", "hidden_size", "intermediate_size",
            "num_hidden_layers", "num_attention_heads", "num_key_value_heads", "head_dim", "rms_norm_eps", "rope_theta",
            "rope_parameters", "rope_scaling", "tie_word_embeddings", "attention_bias", "mlp_bias", "hidden_act",
            "max_position_embeddings", "initializer_range", "bos_token_id", "eos_token_id", "pad_token_id", "dtype",
            "torch_dtype");

    private LlamaConfig(Builder b, String where) {
        this.vocabSize = b.vocabSize;
        this.hiddenSize = b.hiddenSize;
        this.intermediateSize = b.intermediateSize;
        this.numHiddenLayers = b.numHiddenLayers;
        this.numAttentionHeads = b.numAttentionHeads;
        this.numKeyValueHeads = b.numKeyValueHeads != null ? b.numKeyValueHeads : b.numAttentionHeads;
        this.headDim = b.headDim != null ? b.headDim : (b.numAttentionHeads > 0 ? b.hiddenSize / b.numAttentionHeads : 0);
        this.rmsNormEps = b.rmsNormEps;
        this.ropeTheta = b.ropeTheta;
        this.tieWordEmbeddings = b.tieWordEmbeddings;
        this.attentionBias = b.attentionBias;
        this.mlpBias = b.mlpBias;
        this.hiddenAct = b.hiddenAct;
        this.maxPositionEmbeddings = b.maxPositionEmbeddings;
        this.initializerRange = b.initializerRange;
        this.bosTokenId = b.bosTokenId;
        this.padTokenId = b.padTokenId;
        this.eosTokenIds = b.eosTokenIds.clone();
        this.eosIsList = b.eosIsList;
        this.dtype = b.dtype;
        this.extras = b.extras == null ? HfJson.object() : b.extras.deepCopy();
        validate(where);
    }

    private void validate(String where) {
        positive(where, "vocab_size", vocabSize);
        positive(where, "hidden_size", hiddenSize);
        positive(where, "intermediate_size", intermediateSize);
        positive(where, "num_hidden_layers", numHiddenLayers);
        positive(where, "num_attention_heads", numAttentionHeads);
        positive(where, "num_key_value_heads", numKeyValueHeads);
        positive(where, "head_dim", headDim);
        positive(where, "max_position_embeddings", maxPositionEmbeddings);
        if (maxPositionEmbeddings < 2) {
            throw new IllegalArgumentException(where + ": \"max_position_embeddings\" is " + maxPositionEmbeddings
                    + "; a causal language model needs at least 2 positions (a token and the one it predicts)");
        }
        if (hiddenSize % numAttentionHeads != 0) {
            throw new IllegalArgumentException(where + ": \"hidden_size\" (" + hiddenSize
                    + ") must be a multiple of \"num_attention_heads\" (" + numAttentionHeads + ")");
        }
        if (numAttentionHeads % numKeyValueHeads != 0) {
            throw new IllegalArgumentException(where + ": \"num_attention_heads\" (" + numAttentionHeads
                    + ") must be a multiple of \"num_key_value_heads\" (" + numKeyValueHeads + ")");
        }
        if (headDim % 2 != 0) {
            throw new IllegalArgumentException(where + ": \"head_dim\" (" + headDim + ") must be even for rotary embeddings");
        }
        if (!(rmsNormEps >= 0) || Double.isInfinite(rmsNormEps)) {
            throw new IllegalArgumentException(where + ": \"rms_norm_eps\" must be a finite number >= 0, got " + rmsNormEps);
        }
        if (!(ropeTheta > 0) || Double.isInfinite(ropeTheta)) {
            throw new IllegalArgumentException(where + ": \"rope_theta\" must be a finite positive number, got " + ropeTheta);
        }
        if (!(initializerRange >= 0)) {
            throw new IllegalArgumentException(where + ": \"initializer_range\" must be >= 0, got " + initializerRange);
        }
        if (!"silu".equals(hiddenAct)) {
            throw new IllegalArgumentException(where + ": \"hidden_act\" is \"" + hiddenAct
                    + "\"; only \"silu\" (Llama's SwiGLU) is implemented");
        }
        // torch's nn.Embedding accepts padding_idx in [-V, V) (negative counts from the end).
        // transformers does not check bos/eos; an eos outside the vocabulary can never be generated
        // (generation would run to its length limit every time), so here it is an error.
        for (int eos : eosTokenIds) {
            if (eos < 0 || eos >= vocabSize) {
                throw new IllegalArgumentException(where + ": \"eos_token_id\" " + eos + " is outside the vocabulary [0, " + vocabSize + ")");
            }
        }
        if (bosTokenId != null && (bosTokenId < 0 || bosTokenId >= vocabSize)) {
            throw new IllegalArgumentException(where + ": \"bos_token_id\" " + bosTokenId + " is outside the vocabulary [0, " + vocabSize + ")");
        }
        if (padTokenId != null && (padTokenId < -vocabSize || padTokenId >= vocabSize)) {
            throw new IllegalArgumentException(where + ": \"pad_token_id\" " + padTokenId + " is outside the vocabulary [0, "
                    + vocabSize + ")");
        }
    }

    private static void positive(String where, String key, int v) {
        if (v <= 0) throw new IllegalArgumentException(where + ": \"" + key + "\" must be a positive integer, got " + v);
    }

    /** End-of-sequence token ids (a copy; empty when the config has none). */
    /** A lower bound of the weights these sizes need: embeddings, attention q/o and the MLP of every layer. */
    public double weightsAtLeast() {
        double h = hiddenSize, attn = (double) numAttentionHeads * headDim;
        return (double) vocabSize * h + (double) numHiddenLayers * (2 * attn * h + 3 * h * intermediateSize);
    }

    /** The size keys of {@link #weightsAtLeast}, for messages. */
    public String sizes() {
        return "num_hidden_layers " + numHiddenLayers + ", hidden_size " + hiddenSize + ", intermediate_size " + intermediateSize
                + ", num_attention_heads " + numAttentionHeads + " x head_dim " + headDim + ", vocab_size " + vocabSize;
    }

    public int[] eosTokenIds() {
        return eosTokenIds.clone();
    }

    // ---- reading ------------------------------------------------------------------------------

    /** Reads {@code dir/config.json} (or {@code path} itself when it is a file). */
    public static LlamaConfig load(Path path) throws IOException {
        Path file = Files.isDirectory(path) ? path.resolve(FILE) : path;
        ObjectNode root = HfJson.readObject(file);
        if (absent(root, "model_type")) {
            throw new IllegalArgumentException(file + ": \"model_type\" is missing (expected \"" + MODEL_TYPE + "\")");
        }
        return fromJson(root, file.toString());
    }

    /**
     * A config from a parsed {@code config.json} object (or a sub-config such as LLaVA's
     * {@code text_config}); {@code where} names it in errors. A {@code model_type}, if present,
     * must be {@code "llama"}.
     */
    public static LlamaConfig fromJson(JsonNode obj, String where) {
        String modelType = optString(obj, "model_type", MODEL_TYPE, where);
        if (!MODEL_TYPE.equals(modelType)) {
            throw new IllegalArgumentException(where + ": \"model_type\" is \"" + modelType + "\", expected \"" + MODEL_TYPE + "\"");
        }
        Builder b = new Builder();
        b.vocabSize = optInt(obj, "vocab_size", b.vocabSize, where);
        b.hiddenSize = optInt(obj, "hidden_size", b.hiddenSize, where);
        b.intermediateSize = optInt(obj, "intermediate_size", b.intermediateSize, where);
        b.numHiddenLayers = optInt(obj, "num_hidden_layers", b.numHiddenLayers, where);
        b.numAttentionHeads = optInt(obj, "num_attention_heads", b.numAttentionHeads, where);
        b.numKeyValueHeads = optIntOrNull(obj, "num_key_value_heads", where);
        b.headDim = optIntOrNull(obj, "head_dim", where);
        b.rmsNormEps = optDouble(obj, "rms_norm_eps", b.rmsNormEps, where);
        b.ropeTheta = readRopeTheta(obj, where);
        b.tieWordEmbeddings = optBool(obj, "tie_word_embeddings", b.tieWordEmbeddings, where);
        b.attentionBias = optBool(obj, "attention_bias", b.attentionBias, where);
        b.mlpBias = optBool(obj, "mlp_bias", b.mlpBias, where);
        b.hiddenAct = optString(obj, "hidden_act", b.hiddenAct, where);
        b.maxPositionEmbeddings = optInt(obj, "max_position_embeddings", b.maxPositionEmbeddings, where);
        b.initializerRange = optDouble(obj, "initializer_range", b.initializerRange, where);
        // An explicit null means "none" (transformers keeps it); an absent key takes the default.
        b.bosTokenId = obj.has("bos_token_id") ? optIntOrNull(obj, "bos_token_id", where) : b.bosTokenId;
        b.padTokenId = optIntOrNull(obj, "pad_token_id", where);
        readEos(obj, where, b);
        String dt = optString(obj, "dtype", null, where);
        b.dtype = dt != null ? dt : optString(obj, "torch_dtype", b.dtype, where);
        ObjectNode extras = HfJson.object();
        for (Iterator<Map.Entry<String, JsonNode>> it = obj.fields(); it.hasNext(); ) {
            var e = it.next();
            if (!OWN_KEYS.contains(e.getKey())) extras.set(e.getKey(), e.getValue().deepCopy());
        }
        b.extras = extras;
        return new LlamaConfig(b, where);
    }

    /**
     * transformers 5 reads RoPE from {@code rope_scaling} when that is set, else from
     * {@code rope_parameters}; {@code rope_theta} inside the dict wins over a top-level one, which
     * wins over the default 10000. The type is {@code rope_type} (or the legacy {@code type}).
     */
    private static double readRopeTheta(JsonNode obj, String where) {
        String key = !absent(obj, "rope_scaling") ? "rope_scaling" : "rope_parameters";
        double theta = optDouble(obj, "rope_theta", 10000.0, where);
        if (absent(obj, key)) return theta;
        JsonNode rp = obj.get(key);
        if (!rp.isObject()) throw bad(where, key, "an object", rp);
        String inner = where + " \"" + key + "\"";
        String type = optString(rp, "rope_type", optString(rp, "type", "default", inner), inner);
        if (!"default".equals(type)) {
            throw new IllegalArgumentException(where + ": \"" + key + "\" has rope_type \"" + type
                    + "\"; only \"default\" (unscaled RoPE) is implemented");
        }
        return optDouble(rp, "rope_theta", theta, inner);
    }

    private static void readEos(JsonNode obj, String where, Builder b) {
        if (!obj.has("eos_token_id")) return;            // default 2
        JsonNode n = obj.get("eos_token_id");
        if (n.isNull()) {
            b.eosTokenIds = new int[0];
            b.eosIsList = false;
        } else if (n.isArray()) {
            int[] ids = new int[n.size()];
            for (int i = 0; i < ids.length; i++) {
                if (!n.get(i).isIntegralNumber() || !n.get(i).canConvertToInt()) throw bad(where, "eos_token_id", "an integer or a list of integers", n);
                ids[i] = n.get(i).intValue();
            }
            b.eosTokenIds = ids;
            b.eosIsList = true;
        } else {
            b.eosTokenIds = new int[] {optInt(obj, "eos_token_id", 0, where)};
            b.eosIsList = false;
        }
    }

    // ---- writing ------------------------------------------------------------------------------

    /**
     * The {@code config.json} object in transformers 5.17's schema ({@code rope_parameters},
     * {@code dtype}), with the kept extras; {@code architectures} defaults to
     * {@code ["LlamaForCausalLM"]}.
     */
    public ObjectNode toJson() {
        return toJson(true);
    }

    /**
     * The object as transformers 5.17 nests it in a composite config (LLaVA's {@code text_config}):
     * as {@link #toJson()} but without the top-level {@code architectures} and {@code dtype}.
     */
    public ObjectNode toSubConfigJson() {
        return toJson(false);
    }

    private ObjectNode toJson(boolean topLevel) {
        ObjectNode o = HfJson.object();
        if (topLevel) o.putArray("architectures").add("LlamaForCausalLM");
        o.put("attention_dropout", 0.0);
        o.put("pretraining_tp", 1);
        o.put("use_cache", true);
        o.setAll(extras.deepCopy());
        o.put("model_type", MODEL_TYPE);
        o.put("vocab_size", vocabSize);
        o.put("hidden_size", hiddenSize);
        o.put("intermediate_size", intermediateSize);
        o.put("num_hidden_layers", numHiddenLayers);
        o.put("num_attention_heads", numAttentionHeads);
        o.put("num_key_value_heads", numKeyValueHeads);
        o.put("head_dim", headDim);
        o.put("rms_norm_eps", rmsNormEps);
        ObjectNode rope = o.putObject("rope_parameters");
        rope.put("rope_theta", ropeTheta);
        rope.put("rope_type", "default");
        o.put("tie_word_embeddings", tieWordEmbeddings);
        o.put("attention_bias", attentionBias);
        o.put("mlp_bias", mlpBias);
        o.put("hidden_act", hiddenAct);
        o.put("max_position_embeddings", maxPositionEmbeddings);
        o.put("initializer_range", initializerRange);
        putId(o, "bos_token_id", bosTokenId);
        putId(o, "pad_token_id", padTokenId);
        if (eosIsList) {
            var arr = o.putArray("eos_token_id");
            for (int id : eosTokenIds) arr.add(id);
        } else {
            putId(o, "eos_token_id", eosTokenIds.length == 0 ? null : eosTokenIds[0]);
        }
        if (topLevel) o.put("dtype", "float32");
        return o;
    }

    private static void putId(ObjectNode o, String key, Integer id) {
        if (id == null) o.putNull(key);
        else o.put(key, id);
    }

    /** Writes {@code dir/config.json} atomically (keys sorted, as transformers writes it). */
    public void save(Path dir) throws IOException {
        HfJson.writeObject(dir.resolve(FILE), toJson());
    }

    // ---- building -----------------------------------------------------------------------------

    public static Builder builder() {
        return new Builder();
    }

    /** This config as a builder (to derive a variant). */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.vocabSize = vocabSize;
        b.hiddenSize = hiddenSize;
        b.intermediateSize = intermediateSize;
        b.numHiddenLayers = numHiddenLayers;
        b.numAttentionHeads = numAttentionHeads;
        b.numKeyValueHeads = numKeyValueHeads;
        b.headDim = headDim;
        b.rmsNormEps = rmsNormEps;
        b.ropeTheta = ropeTheta;
        b.tieWordEmbeddings = tieWordEmbeddings;
        b.attentionBias = attentionBias;
        b.mlpBias = mlpBias;
        b.hiddenAct = hiddenAct;
        b.maxPositionEmbeddings = maxPositionEmbeddings;
        b.initializerRange = initializerRange;
        b.bosTokenId = bosTokenId;
        b.padTokenId = padTokenId;
        b.eosTokenIds = eosTokenIds.clone();
        b.eosIsList = eosIsList;
        b.dtype = dtype;
        b.extras = extras.deepCopy();
        return b;
    }

    /** Fluent builder; the defaults are transformers' {@code LlamaConfig} defaults (Llama-2-7B). */
    public static final class Builder {
        private int vocabSize = 32000, hiddenSize = 4096, intermediateSize = 11008, numHiddenLayers = 32,
                numAttentionHeads = 32, maxPositionEmbeddings = 2048;
        private Integer numKeyValueHeads, headDim;
        private double rmsNormEps = 1e-6, ropeTheta = 10000.0, initializerRange = 0.02;
        private boolean tieWordEmbeddings, attentionBias, mlpBias;
        private String hiddenAct = "silu", dtype = "float32";
        private Integer bosTokenId = 1, padTokenId;
        private int[] eosTokenIds = {2};
        private boolean eosIsList;
        private ObjectNode extras;

        private Builder() {}

        public Builder vocabSize(int v) { vocabSize = v; return this; }
        public Builder hiddenSize(int v) { hiddenSize = v; return this; }
        public Builder intermediateSize(int v) { intermediateSize = v; return this; }
        public Builder numHiddenLayers(int v) { numHiddenLayers = v; return this; }
        public Builder numAttentionHeads(int v) { numAttentionHeads = v; return this; }
        /** Null means "as many as query heads" (multi-head attention). */
        public Builder numKeyValueHeads(Integer v) { numKeyValueHeads = v; return this; }
        /** Null means {@code hidden_size / num_attention_heads}. */
        public Builder headDim(Integer v) { headDim = v; return this; }
        public Builder rmsNormEps(double v) { rmsNormEps = v; return this; }
        public Builder ropeTheta(double v) { ropeTheta = v; return this; }
        public Builder tieWordEmbeddings(boolean v) { tieWordEmbeddings = v; return this; }
        public Builder attentionBias(boolean v) { attentionBias = v; return this; }
        public Builder mlpBias(boolean v) { mlpBias = v; return this; }
        public Builder hiddenAct(String v) { hiddenAct = v; return this; }
        public Builder maxPositionEmbeddings(int v) { maxPositionEmbeddings = v; return this; }
        public Builder initializerRange(double v) { initializerRange = v; return this; }
        public Builder bosTokenId(Integer v) { bosTokenId = v; return this; }
        public Builder padTokenId(Integer v) { padTokenId = v; return this; }
        public Builder eosTokenIds(int... v) { eosTokenIds = v.clone(); eosIsList = v.length > 1; return this; }

        /** Validates and builds; a bad value is an {@link IllegalArgumentException} naming the key. */
        public LlamaConfig build() {
            return new LlamaConfig(this, "LlamaConfig");
        }
    }

    @Override
    public String toString() {
        return "LlamaConfig(vocab " + vocabSize + ", hidden " + hiddenSize + ", intermediate " + intermediateSize + ", layers "
                + numHiddenLayers + ", heads " + numAttentionHeads + "/" + numKeyValueHeads + " x " + headDim
                + ", rope_theta " + ropeTheta + ", tied " + tieWordEmbeddings + ", eos " + Arrays.toString(eosTokenIds) + ")";
    }
}
