package dev.aspo.models.llama;

import dev.aspo.models.nn.Module;
import dev.aspo.tensor.Autograd;
import dev.aspo.tensor.Backend;
import dev.aspo.tensor.Storage;
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
        int padded = 0;
        for (int id : ids) if (id == paddingIdx) padded++;
        if (padded == 0 || !Autograd.isRecording(weight)) return Embedding.lookup(weight, ids, idsShape);

        // Look up in a detached view (checks the ids and shape, records nothing), then record a
        // backward that scatters only the rows of non-pad positions.
        Tensor rows = Embedding.lookup(weight.detach(), ids, idsShape);
        int cols = weight.size(1), kept = ids.length - padded;
        int[] keptPositions = new int[kept], keptIds = new int[kept];
        for (int i = 0, j = 0; i < ids.length; i++) {
            if (ids[i] != paddingIdx) {
                keptPositions[j] = i;
                keptIds[j++] = ids[i];
            }
        }
        Backend be = weight.backend();
        return Autograd.record(rows, "embedding(padding_idx)", () -> {
            if (kept == 0) return;
            Storage g = be.allocate(kept * cols);
            be.gatherRows(rows.gradBuffer(), keptPositions, g, cols);
            be.scatterAddRows(g, keptIds, weight.gradBuffer(), cols);
        }, weight);
    }
}
