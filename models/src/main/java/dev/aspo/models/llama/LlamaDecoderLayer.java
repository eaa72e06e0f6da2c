package dev.aspo.models.llama;

import dev.aspo.models.generate.KvCache;
import dev.aspo.models.nn.Module;
import dev.aspo.models.nn.RmsNorm;
import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.ops.Arithmetic;

/**
 * One pre-norm decoder block (HF {@code LlamaDecoderLayer}):
 *
 * <pre>
 *   x --input_layernorm--> self_attn --(+x)--> h --post_attention_layernorm--> mlp --(+h)--> out
 * </pre>
 */
public final class LlamaDecoderLayer extends Module {
    public final LlamaAttention selfAttn;
    public final LlamaMlp mlp;
    public final RmsNorm inputLayernorm, postAttentionLayernorm;

    public LlamaDecoderLayer(LlamaConfig c, int layer) {
        selfAttn = child("self_attn", new LlamaAttention(c, layer));
        mlp = child("mlp", new LlamaMlp(c));
        inputLayernorm = child("input_layernorm", new RmsNorm(c.hiddenSize, (float) c.rmsNormEps));
        postAttentionLayernorm = child("post_attention_layernorm", new RmsNorm(c.hiddenSize, (float) c.rmsNormEps));
    }

    public Tensor forward(Tensor x, int[] positions, float[] keyMask, KvCache cache) {
        Tensor h = Arithmetic.add(x, selfAttn.forward(inputLayernorm.forward(x), positions, keyMask, cache));
        return Arithmetic.add(h, mlp.forward(postAttentionLayernorm.forward(h)));
    }
}
