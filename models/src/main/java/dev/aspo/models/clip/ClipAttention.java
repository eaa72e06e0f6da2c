package dev.aspo.models.clip;

import dev.aspo.models.nn.Linear;
import dev.aspo.models.nn.Module;
import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.ops.Attention;
import java.util.Random;

/**
 * HF {@code CLIPAttention}: multi-head self-attention with biased q/k/v/out projections and the
 * scale {@code head_dim^-0.5}. The heads stay in the projection layout ({@code [B, T, H*D]}), which
 * is what the fused {@link Attention} kernel takes, so there are no head transposes.
 */
public final class ClipAttention extends Module {
    public final Linear kProj, vProj, qProj, outProj;
    private final int heads;

    public ClipAttention(int hidden, int heads) {
        this.heads = heads;
        this.kProj = child("k_proj", new Linear(hidden, hidden, true));
        this.vProj = child("v_proj", new Linear(hidden, hidden, true));
        this.qProj = child("q_proj", new Linear(hidden, hidden, true));
        this.outProj = child("out_proj", new Linear(hidden, hidden, true));
    }

    /**
     * {@code x [B, T, C]} to {@code [B, T, C]}; {@code causal} for the text tower, {@code keyMask}
     * ({@code [B*T]}, 1 keep, 0 padding; null for none) from the attention mask.
     */
    public Tensor forward(Tensor x, boolean causal, float[] keyMask) {
        Tensor q = qProj.forward(x), k = kProj.forward(x), v = vProj.forward(x);
        return outProj.forward(Attention.apply(q, k, v, heads, heads, causal, keyMask));
    }

    /** HF's stds: in-projections {@code C^-0.5 (2L)^-0.5 f}, out-projection {@code C^-0.5 f}; biases 0. */
    void init(Random rng, int hidden, int layers, double factor) {
        double in = Math.pow(hidden, -0.5) * Math.pow(2.0 * layers, -0.5) * factor, out = Math.pow(hidden, -0.5) * factor;
        ClipInit.normal(qProj.weight, rng, in);
        ClipInit.normal(kProj.weight, rng, in);
        ClipInit.normal(vProj.weight, rng, in);
        ClipInit.normal(outProj.weight, rng, out);
        for (Linear l : new Linear[] {qProj, kProj, vProj, outProj}) ClipInit.constant(l.bias, 0f);
    }
}
