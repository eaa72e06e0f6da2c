package dev.aspo.models.clip;

import dev.aspo.models.nn.LayerNorm;
import dev.aspo.models.nn.Module;
import dev.aspo.tensor.Checkpoint;
import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.ops.Index;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/**
 * The CLIP text transformer (HF {@code CLIPTextModel}'s body; {@code text_model.*} in a
 * {@code clip} checkpoint):
 * <pre>
 *   ids --token + position embeddings--> causal layers (padding keys masked) --> final_layer_norm
 *       --> last_hidden_state [B, T, C] --row at the pooling position--> pooler_output [B, C]
 * </pre>
 * The pooling position follows transformers 5.17 exactly (see {@link #poolPositions}).
 */
public final class ClipTextTransformer extends Module {
    public final ClipTextEmbeddings embeddings;
    public final List<ClipEncoderLayer> layers;
    public final LayerNorm finalLayerNorm;
    private final ClipTextConfig config;
    private boolean gradientCheckpointing;

    public ClipTextTransformer(ClipTextConfig config) {
        this.config = config;
        float eps = (float) config.layerNormEps();
        this.embeddings = child("embeddings", new ClipTextEmbeddings(config));
        List<ClipEncoderLayer> ls = new ArrayList<>();
        for (int i = 0; i < config.numHiddenLayers(); i++) {
            ls.add(child("encoder.layers." + i, new ClipEncoderLayer(config.hiddenSize(), config.intermediateSize(),
                    config.numAttentionHeads(), config.hiddenAct(), eps)));
        }
        this.layers = Collections.unmodifiableList(ls);
        this.finalLayerNorm = child("final_layer_norm", new LayerNorm(config.hiddenSize(), eps));
    }

    public ClipTextConfig config() {
        return config;
    }

    /**
     * Activation checkpointing: when on, a forward with gradients keeps only each encoder layer's
     * input and runs the layer again in the backward ({@link Checkpoint}); the gradients are the
     * same to the last bit.
     */
    public void setGradientCheckpointing(boolean on) {
        gradientCheckpointing = on;
    }

    public boolean gradientCheckpointing() {
        return gradientCheckpointing;
    }

    /**
     * {@code inputIds} laid out {@code [B, T]}; {@code attentionMask} the same layout with 1 for a
     * real token and 0 for padding, or null for none. Padding keys are masked on top of the causal
     * mask (as HF's {@code create_causal_mask}); pad on the right, as CLIP's tokenizer does (a query
     * that sees no key at all gets a zero attention output, where torch's SDPA differs).
     */
    public ClipTextOutput forward(int[] inputIds, int batch, int seq, int[] attentionMask) {
        if (batch <= 0 || seq <= 0 || inputIds.length != batch * seq) {
            throw new IllegalArgumentException("CLIP text: input_ids has " + inputIds.length + " entries, expected B*T = "
                    + batch + "*" + seq);
        }
        float[] keyMask = keyMask(attentionMask, batch, seq);
        Tensor h = embeddings.forward(inputIds, batch, seq);
        for (int l = 0; l < layers.size(); l++) {
            ClipEncoderLayer layer = layers.get(l);
            h = gradientCheckpointing ? Checkpoint.apply("encoder.layers." + l, in -> layer.forward(in[0], true, keyMask), h)
                    : layer.forward(h, true, keyMask);
        }
        Tensor last = finalLayerNorm.forward(h);
        int[] pos = poolPositions(inputIds, batch, seq, config.eosTokenId());
        int[] rows = new int[batch];
        for (int b = 0; b < batch; b++) rows[b] = b * seq + pos[b];
        Tensor pooled = Index.selectRows(last.reshape(batch * seq, config.hiddenSize()), rows);
        return new ClipTextOutput(last, pooled, pos);
    }

    /**
     * The position of each sequence that transformers 5.17 pools: with {@code eos_token_id == 2}
     * (configs from before transformers PR #24773) the position of the largest id (the first one on
     * ties, as torch's argmax), otherwise the first position holding {@code eos_token_id}, or 0 when
     * the sequence has none (argmax of all zeros).
     */
    public static int[] poolPositions(int[] inputIds, int batch, int seq, Integer eosTokenId) {
        if (eosTokenId == null) throw new IllegalArgumentException("CLIP text: eos_token_id is null, so there is nothing to pool");
        int[] pos = new int[batch];
        for (int b = 0; b < batch; b++) {
            int off = b * seq, best = 0;
            if (eosTokenId == 2) {
                for (int t = 1; t < seq; t++) if (inputIds[off + t] > inputIds[off + best]) best = t;
            } else {
                for (int t = seq - 1; t >= 0; t--) if (inputIds[off + t] == eosTokenId) best = t;
            }
            pos[b] = best;
        }
        return pos;
    }

    private static float[] keyMask(int[] attentionMask, int batch, int seq) {
        if (attentionMask == null) return null;
        if (attentionMask.length != batch * seq) {
            throw new IllegalArgumentException("CLIP text: attention_mask has " + attentionMask.length
                    + " entries, expected B*T = " + batch + "*" + seq);
        }
        float[] m = new float[attentionMask.length];
        for (int i = 0; i < m.length; i++) {
            if (attentionMask[i] != 0 && attentionMask[i] != 1) {
                throw new IllegalArgumentException("CLIP text: attention_mask[" + i / seq + ", " + i % seq + "] = "
                        + attentionMask[i] + ", expected 0 or 1");
            }
            m[i] = attentionMask[i];
        }
        return m;
    }

    /**
     * HF's random initialisation ({@code CLIPPreTrainedModel._init_weights}'s distributions, drawn
     * from {@code rng}); {@code factor} is {@code initializer_factor}.
     */
    public void initWeights(Random rng, double factor) {
        embeddings.init(rng, factor);
        for (ClipEncoderLayer l : layers) l.init(rng, config.hiddenSize(), config.numHiddenLayers(), factor);
        ClipInit.constant(finalLayerNorm.weight, 1f);
        ClipInit.constant(finalLayerNorm.bias, 0f);
    }
}
