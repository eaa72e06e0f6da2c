package dev.aspo.models.llama;

import dev.aspo.models.generate.KvCache;
import dev.aspo.models.nn.Linear;
import dev.aspo.models.nn.Module;
import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.ops.Attention;
import dev.aspo.tensor.ops.Rope;

/**
 * Grouped-query self-attention with rotary positions (HF {@code LlamaAttention}), kept in the
 * projection layout throughout: RoPE sees the projections through free {@code [B, T, H, D]}
 * reshape views and the fused attention op takes {@code [B, T, H*D]} directly, so no head
 * transposes are materialised.
 *
 * <pre>
 *   x [B,T,C] --q_proj--> [B,T,Hq*D]  --rope--\
 *             --k_proj--> [B,T,Hkv*D] --rope--(cache: ++ past keys)--> causal softmax(q k^T / sqrt(D)) v
 *             --v_proj--> [B,T,Hkv*D] --------(cache: ++ past values)-/            |
 *                                                                  [B,T,Hq*D] --o_proj--> [B,T,C]
 * </pre>
 */
public final class LlamaAttention extends Module {
    public final Linear qProj, kProj, vProj, oProj;
    private final int layer, heads, kvHeads, headDim;
    private final float theta;

    public LlamaAttention(LlamaConfig c, int layer) {
        this.layer = layer;
        this.heads = c.numAttentionHeads;
        this.kvHeads = c.numKeyValueHeads;
        this.headDim = c.headDim;
        this.theta = (float) c.ropeTheta;
        qProj = child("q_proj", new Linear(c.hiddenSize, heads * headDim, c.attentionBias));
        kProj = child("k_proj", new Linear(c.hiddenSize, kvHeads * headDim, c.attentionBias));
        vProj = child("v_proj", new Linear(c.hiddenSize, kvHeads * headDim, c.attentionBias));
        oProj = child("o_proj", new Linear(heads * headDim, c.hiddenSize, c.attentionBias));
    }

    /**
     * {@code x [B, T, C]} at rotary {@code positions [B*T]}; {@code keyMask} covers every key the
     * queries see ({@code [B*(S+T)]} with a cache of {@code S}, null for all kept).
     */
    public Tensor forward(Tensor x, int[] positions, float[] keyMask, KvCache cache) {
        int b = x.size(0), t = x.size(1);
        Tensor q = Rope.apply(qProj.forward(x).reshape(b, t, heads, headDim), positions, theta).reshape(b, t, heads * headDim);
        Tensor k = Rope.apply(kProj.forward(x).reshape(b, t, kvHeads, headDim), positions, theta).reshape(b, t, kvHeads * headDim);
        Tensor v = vProj.forward(x);
        if (cache != null) {
            Tensor[] kv = cache.update(layer, k, v);
            k = kv[0];
            v = kv[1];
        }
        return oProj.forward(Attention.apply(q, k, v, heads, kvHeads, true, keyMask));
    }
}
