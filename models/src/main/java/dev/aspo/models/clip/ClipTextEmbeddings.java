package dev.aspo.models.clip;

import static dev.aspo.tensor.ops.Arithmetic.add;

import dev.aspo.models.nn.Embedding;
import dev.aspo.models.nn.Module;
import dev.aspo.tensor.Tensor;
import java.util.Random;

/** HF {@code CLIPTextEmbeddings}: token embedding plus the learned position rows {@code 0..T-1}. */
public final class ClipTextEmbeddings extends Module {
    public final Embedding tokenEmbedding;
    public final Embedding positionEmbedding;
    private final ClipTextConfig config;

    public ClipTextEmbeddings(ClipTextConfig config) {
        this.config = config;
        this.tokenEmbedding = child("token_embedding", new Embedding(config.vocabSize(), config.hiddenSize()));
        this.positionEmbedding = child("position_embedding", new Embedding(config.maxPositionEmbeddings(), config.hiddenSize()));
    }

    /** {@code ids} laid out {@code [B, T]} to {@code [B, T, C]}. */
    public Tensor forward(int[] ids, int batch, int seq) {
        if (seq > config.maxPositionEmbeddings()) {
            throw new IllegalArgumentException("CLIP text: sequence length " + seq + " exceeds max_position_embeddings "
                    + config.maxPositionEmbeddings());
        }
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= config.vocabSize()) {
                throw new IllegalArgumentException("CLIP text: input_ids[" + i / seq + ", " + i % seq + "] = " + ids[i]
                        + " is outside the vocabulary [0, " + config.vocabSize() + ")");
            }
        }
        Tensor tokens = tokenEmbedding.forward(ids, batch, seq);
        // rows 0..T-1 looked up, as HF's position_ids are (a lookup also reads a frozen 16-bit table)
        int[] positions = new int[seq];
        for (int t = 0; t < seq; t++) positions[t] = t;
        return add(tokens, positionEmbedding.forward(positions, seq));
    }

    /** HF uses {@code 0.02 f} for both tables (not {@code initializer_range}). */
    void init(Random rng, double factor) {
        ClipInit.normal(tokenEmbedding.weight, rng, 0.02 * factor);
        ClipInit.normal(positionEmbedding.weight, rng, 0.02 * factor);
    }
}
