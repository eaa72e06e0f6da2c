package dev.aspo.models.clip;

import dev.aspo.tensor.Tensor;

/**
 * What HF's {@code CLIPTextModel} returns.
 *
 * @param lastHiddenState {@code [B, T, C]} after {@code final_layer_norm}
 * @param poolerOutput {@code [B, C]}: the rows of {@code lastHiddenState} at {@code poolPositions}
 * @param poolPositions the position pooled in each sequence (see {@link ClipTextTransformer#poolPositions})
 */
public record ClipTextOutput(Tensor lastHiddenState, Tensor poolerOutput, int[] poolPositions) {}
