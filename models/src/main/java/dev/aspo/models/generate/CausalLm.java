package dev.aspo.models.generate;

import dev.aspo.tensor.Tensor;

/**
 * What {@link Generator} needs from a decoder-only language model: token embeddings, a forward
 * over embeddings with a {@link KvCache}, and the output projection applied separately (so a step
 * projects only the last position). {@code LlamaForCausalLM} implements it; a multimodal model
 * builds its prompt embeddings itself and hands its language model to the generator.
 */
public interface CausalLm {
    /** Number of decoder layers (the size of a {@link KvCache}). */
    int numLayers();

    /** Vocabulary size (the last axis of the logits). */
    int vocabSize();

    /** How many positions the model has ({@code max_position_embeddings}); generation never goes past them. */
    default int maxPositions() {
        return Integer.MAX_VALUE;
    }

    /** Token embeddings {@code [B, T, C]} of {@code ids} ({@code [B*T]}, row-major). */
    Tensor embed(int[] ids, int batch, int seq);

    /**
     * The final hidden states {@code [B, T, C]} (after the last norm) of {@code embeds [B, T, C]}.
     * {@code attentionMask} {@code [B*T]} marks the new tokens (1 keep, 0 pad; null for all kept),
     * {@code positions} {@code [B*T]} their rotary positions (null: {@code cache.length() + t}),
     * {@code cache} (nullable) holds earlier positions and receives these.
     */
    Tensor forwardHidden(Tensor embeds, float[] attentionMask, int[] positions, KvCache cache);

    /** Logits {@code [..., V]} of hidden states {@code [..., C]}. */
    Tensor logits(Tensor hidden);
}
