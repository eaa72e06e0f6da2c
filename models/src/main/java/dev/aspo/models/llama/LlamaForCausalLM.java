package dev.aspo.models.llama;

import dev.aspo.models.generate.CausalLm;
import dev.aspo.models.generate.KvCache;
import dev.aspo.models.hf.Weights;
import dev.aspo.models.nn.Linear;
import dev.aspo.models.nn.Module;
import dev.aspo.tensor.Precision;
import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.io.ShardSize;
import dev.aspo.tensor.ops.CrossEntropy;
import dev.aspo.tensor.ops.MatMul;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;

/**
 * A Llama decoder with its language-model head (HF {@code LlamaForCausalLM}), parameters under
 * the names transformers uses ({@code model.embed_tokens.weight},
 * {@code model.layers.{i}.self_attn.q_proj.weight}, ..., {@code model.norm.weight},
 * {@code lm_head.weight}).
 *
 * <pre>
 *   ids --embed_tokens--> [B,T,C] --N x decoder layer--> norm --lm_head--> logits [B,T,V]
 * </pre>
 *
 * With {@code tie_word_embeddings} there is no {@code lm_head.weight}: the logits multiply by the
 * embedding table, whose gradient then sums both uses.
 *
 * <p>Positions: without explicit positions, token {@code t} of every row sits at
 * {@code cache.length() + t}, as transformers' forward does even when an attention mask marks
 * padding (right padding is therefore exact; a left-padded batch wants explicit positions, which
 * is what {@code generate} passes and what {@link dev.aspo.models.generate.Generator} does).
 */
public final class LlamaForCausalLM extends Module implements CausalLm {
    public final LlamaConfig config;
    public final LlamaModel model;
    /** The output projection, or null when tied to {@code model.embed_tokens}. */
    public final Linear lmHead;

    /** A model with zero weights and norms at one; see {@link #initWeights} and {@link #load}. */
    public LlamaForCausalLM(LlamaConfig config) {
        this.config = config;
        this.model = child("model", new LlamaModel(config));
        this.lmHead = config.tieWordEmbeddings ? null : child("lm_head", new Linear(config.hiddenSize, config.vocabSize, false));
    }

    /** A freshly initialised model (see {@link #initWeights}). */
    public static LlamaForCausalLM random(LlamaConfig config, long seed) {
        LlamaForCausalLM m = new LlamaForCausalLM(config);
        m.initWeights(seed);
        return m;
    }

    /**
     * transformers' {@code _init_weights}: every Linear and Embedding weight ~ N(0, initializer_range^2),
     * biases 0, the padding row of the embedding 0, RMSNorm weights 1. Deterministic in {@code seed}
     * (parameters drawn in {@link #namedParameters()} order from one {@link Random}).
     */
    public void initWeights(long seed) {
        Random rng = new Random(seed);
        float std = (float) config.initializerRange;
        for (var e : namedParameters().entrySet()) {
            String name = e.getKey();
            Tensor p = e.getValue();
            if (name.endsWith("norm.weight")) {
                copyFrom(name, Tensor.full(1f, p.shape()));
            } else if (name.endsWith(".bias")) {
                copyFrom(name, Tensor.zeros(p.shape()));
            } else {
                float[] w = Tensor.randn(rng, std, p.shape()).toFloatArray();
                if (name.equals("model.embed_tokens.weight") && model.embedTokens.paddingIdx >= 0) {
                    Arrays.fill(w, model.embedTokens.paddingIdx * config.hiddenSize,
                            (model.embedTokens.paddingIdx + 1) * config.hiddenSize, 0f);
                }
                copyFrom(name, Tensor.of(w, p.shape()));
            }
        }
    }

    /**
     * Activation checkpointing (transformers' {@code gradient_checkpointing_enable()}): when on, a
     * forward with gradients keeps only each decoder layer's input and runs the layer again in the
     * backward ({@link dev.aspo.tensor.Checkpoint}); the gradients are the same to the last bit.
     * Forwards with a {@link KvCache} (generation) and without gradients are not affected.
     */
    public void setGradientCheckpointing(boolean on) {
        model.gradientCheckpointing = on;
    }

    public boolean gradientCheckpointing() {
        return model.gradientCheckpointing;
    }

    // ---- forward ------------------------------------------------------------------------------

    @Override
    public int numLayers() {
        return config.numHiddenLayers;
    }

    @Override
    public int maxPositions() {
        return config.maxPositionEmbeddings;
    }

    @Override
    public int vocabSize() {
        return config.vocabSize;
    }

    /** Token embeddings {@code [B, T, C]} of {@code ids [B*T]}. */
    @Override
    public Tensor embed(int[] ids, int batch, int seq) {
        if (batch <= 0 || seq <= 0 || ids.length != batch * seq) {
            throw new IllegalArgumentException("llama: " + ids.length + " token ids for batch " + batch + " x seq " + seq);
        }
        return model.embedTokens.forward(ids, batch, seq);
    }

    /** Logits {@code [B, T, V]} of token ids {@code [B*T]}; {@code attentionMask [B*T]} (1 keep, 0 pad) or null. */
    public Tensor forward(int[] ids, int batch, int seq, float[] attentionMask) {
        return forwardEmbeds(embed(ids, batch, seq), attentionMask, null, null);
    }

    /**
     * Logits {@code [B, T, V]} of input embeddings {@code [B, T, C]}. {@code attentionMask} marks the
     * new tokens ({@code [B*T]}, 1 keep, 0 pad; null for all kept): padded positions are hidden from
     * every query as keys. {@code positions} ({@code [B*T]}, null for {@code cache.length() + t}) are
     * the rotary positions. {@code cache} (nullable) supplies earlier keys/values and receives these.
     */
    public Tensor forwardEmbeds(Tensor embeds, float[] attentionMask, int[] positions, KvCache cache) {
        return logits(forwardHidden(embeds, attentionMask, positions, cache));
    }

    @Override
    public Tensor forwardHidden(Tensor embeds, float[] attentionMask, int[] positions, KvCache cache) {
        if (embeds.rank() != 3 || embeds.size(2) != config.hiddenSize || embeds.size(0) == 0 || embeds.size(1) == 0) {
            throw new IllegalArgumentException("llama: embeds must be [B, T, " + config.hiddenSize + "] with B, T > 0, got "
                    + Arrays.toString(embeds.shape()));
        }
        int b = embeds.size(0), t = embeds.size(1), past = cache == null ? 0 : cache.length();
        if (attentionMask != null) {
            if (attentionMask.length != b * t) {
                throw new IllegalArgumentException("llama: attentionMask has " + attentionMask.length + " entries for embeds "
                        + Arrays.toString(embeds.shape()) + " (expected B*T = " + b * t + ")");
            }
            for (int i = 0; i < attentionMask.length; i++) {
                if (attentionMask[i] != 0f && attentionMask[i] != 1f) {
                    throw new IllegalArgumentException("llama: attentionMask[" + i + "] is " + attentionMask[i]
                            + "; expected 1 (keep) or 0 (pad)");
                }
            }
        }
        int[] pos;
        if (positions == null) {
            pos = new int[b * t];
            for (int i = 0; i < pos.length; i++) pos[i] = past + i % t;
        } else {
            if (positions.length != b * t) {
                throw new IllegalArgumentException("llama: " + positions.length + " positions for embeds "
                        + Arrays.toString(embeds.shape()) + " (expected B*T = " + b * t + ")");
            }
            for (int i = 0; i < positions.length; i++) {
                if (positions[i] < 0) throw new IllegalArgumentException("llama: positions[" + i + "] is negative: " + positions[i]);
            }
            pos = positions;
        }
        if (cache != null && cache.layers() != config.numHiddenLayers) {
            throw new IllegalArgumentException("llama: a KvCache of " + cache.layers() + " layers for a model of "
                    + config.numHiddenLayers);
        }
        float[] keyMask = cache == null ? attentionMask : cache.begin(b, t, attentionMask);
        Tensor hidden = model.forward(embeds, pos, keyMask, cache);
        if (cache != null) cache.commit();
        return hidden;
    }

    /** {@code hidden [..., C]} times the output projection (or the tied embedding table): {@code [..., V]}. */
    @Override
    public Tensor logits(Tensor hidden) {
        return lmHead != null ? lmHead.forward(hidden) : MatMul.matmul(hidden, model.embedTokens.weight, false, true);
    }

    /**
     * transformers' causal-LM loss: logits at position {@code t} predict {@code labels} at
     * {@code t + 1} within each row; labels {@code [B*T]} (negative, e.g. -100, ignored); the mean
     * cross-entropy over the predicted positions, shape {@code [1]}. When no label is kept the loss is
     * 0 with zero gradients (transformers gives NaN).
     */
    public static Tensor causalLmLoss(Tensor logits, int[] labels) {
        if (logits.rank() != 3) {
            throw new IllegalArgumentException("causalLmLoss: logits must be [B, T, V], got " + Arrays.toString(logits.shape()));
        }
        int b = logits.size(0), t = logits.size(1);
        if (labels.length != b * t) {
            throw new IllegalArgumentException("causalLmLoss: " + labels.length + " labels for logits "
                    + Arrays.toString(logits.shape()) + " (expected B*T = " + b * t + ")");
        }
        int[] shifted = new int[b * t];
        for (int r = 0; r < b; r++) {
            for (int i = 0; i < t; i++) shifted[r * t + i] = i + 1 < t ? labels[r * t + i + 1] : -100;
        }
        return CrossEntropy.mean(logits, shifted);
    }

    // ---- checkpoints --------------------------------------------------------------------------

    /** Reads {@code dir/config.json} and {@code dir/model.safetensors} (or its shards); F32/F16/BF16. */
    public static LlamaForCausalLM load(Path dir) throws IOException {
        return load(dir, Precision.FLOAT32);
    }

    /**
     * As {@link #load(Path)}, with the weight matrices held frozen in {@code dtype} ({@link
     * Module#matricesIn}): in bfloat16 or float16 they take half the bytes and are never float32 on
     * the heap (a checkpoint stored in that dtype is read bit for bit); norms and biases stay float32.
     */
    public static LlamaForCausalLM load(Path dir, Precision dtype) throws IOException {
        LlamaConfig config = LlamaConfig.load(dir);
        Weights.requireStored(dir, dir.resolve(Weights.CONFIG), config.weightsAtLeast(), config.sizes());
        LlamaForCausalLM m;
        try (var s = Module.matricesIn(dtype)) {
            m = new LlamaForCausalLM(config);
        }
        Weights.load(m, dir, m::checkpointToModule);
        return m;
    }

    /**
     * Checkpoint names to ours: identical, except the non-persistent RoPE buffers older exports
     * carry, and a redundant {@code lm_head.weight} next to tied embeddings, which are skipped.
     */
    private String checkpointToModule(String name) {
        if (name.endsWith("rotary_emb.inv_freq")) return null;
        if (config.tieWordEmbeddings && name.equals("lm_head.weight")) return null;
        return name;
    }

    /**
     * Writes {@code config.json} and {@code model.safetensors} (F32, HF names; tied weights stored
     * once, as {@code save_pretrained} does) into {@code dir}. A new directory appears complete or
     * not at all (written under a temporary name, then renamed); into an existing one, the weights
     * are replaced first (see {@link Weights#saveDirectory}).
     */
    public void save(Path dir) throws IOException {
        save(dir, ShardSize.UNLIMITED);
    }

    /** As {@link #save(Path)}, in shards of at most {@code maxShardBytes} (and an index) when the weights exceed it. */
    public void save(Path dir, long maxShardBytes) throws IOException {
        Weights.saveDirectory(this, dir, config::save, maxShardBytes);
    }
}
