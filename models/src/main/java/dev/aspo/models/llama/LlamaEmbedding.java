package dev.aspo.models.llama;

import dev.aspo.models.nn.Module;
import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.ops.Embedding;

/**
 * The token table {@code embed_tokens.weight [V, C]} as torch's {@code nn.Embedding(V, C,
 * padding_idx=pad_token_id)}: a lookup whose gradient skips the padding row, so the pad token's
 * vector is never trained by the positions that hold it (with tied embeddings the row still
 * learns through the output projection, as in transformers).
 *
 * <pre>
 *   ids [N] --gather rows--> out [N, C]
 *   backward: gW[ids[i]] += gOut[i]  for every i with ids[i] != padding_idx
 * </pre>
 */
public final class LlamaEmbedding extends Module {
    public final Tensor weight;
    /** The row whose gradient is dropped, in {@code [0, V)}; -1 for none. */
    public final int paddingIdx;

    /** {@code paddingIdx} as transformers passes it: null for none, negative counts from the end. */
    public LlamaEmbedding(int count, int dim, Integer paddingIdx) {
        this.weight = parameter("weight", count, dim);
        this.paddingIdx = paddingIdx == null ? -1 : paddingIdx < 0 ? count + paddingIdx : paddingIdx;
    }

    /** Rows of {@code ids} laid out as {@code idsShape}: {@code [...idsShape, C]}. */
    public Tensor forward(int[] ids, int... idsShape) {
        return Embedding.lookup(weight, ids, idsShape, paddingIdx);
    }
}
