package dev.aspo.models.llama;

import dev.aspo.models.generate.KvCache;
import dev.aspo.models.nn.Module;
import dev.aspo.models.nn.RmsNorm;
import dev.aspo.tensor.Checkpoint;
import dev.aspo.tensor.Tensor;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The decoder stack without the output projection (HF {@code LlamaModel}, the {@code model.}
 * prefix of a {@code LlamaForCausalLM} checkpoint): {@code embed_tokens}, {@code layers.{i}},
 * {@code norm}.
 */
public final class LlamaModel extends Module {
    public final LlamaEmbedding embedTokens;
    public final List<LlamaDecoderLayer> layers;
    public final RmsNorm norm;

    public LlamaModel(LlamaConfig c) {
        embedTokens = child("embed_tokens", new LlamaEmbedding(c.vocabSize, c.hiddenSize, c.padTokenId));
        List<LlamaDecoderLayer> ls = new ArrayList<>();
        for (int i = 0; i < c.numHiddenLayers; i++) ls.add(child("layers." + i, new LlamaDecoderLayer(c, i)));
        layers = Collections.unmodifiableList(ls);
        norm = child("norm", new RmsNorm(c.hiddenSize, (float) c.rmsNormEps));
    }

    /** See {@link LlamaForCausalLM#setGradientCheckpointing}. */
    boolean gradientCheckpointing;

    /** Final normed hidden states {@code [B, T, C]}; see {@link LlamaForCausalLM#forwardHidden}. */
    Tensor forward(Tensor embeds, int[] positions, float[] keyMask, KvCache cache) {
        Tensor h = embeds;
        if (gradientCheckpointing && cache == null) {
            // the recomputation in the backward must see the positions and mask this forward saw
            int[] pos = positions.clone();
            float[] mask = keyMask == null ? null : keyMask.clone();
            for (int i = 0; i < layers.size(); i++) {
                LlamaDecoderLayer layer = layers.get(i);
                h = Checkpoint.apply("model.layers." + i, in -> layer.forward(in[0], pos, mask, null), h);
            }
        } else {
            for (LlamaDecoderLayer layer : layers) h = layer.forward(h, positions, keyMask, cache);
        }
        return norm.forward(h);
    }
}
