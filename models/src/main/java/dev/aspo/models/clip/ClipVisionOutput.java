package dev.aspo.models.clip;

import dev.aspo.tensor.Tensor;
import java.util.List;

/**
 * What HF's {@code CLIPVisionModel} returns with {@code output_hidden_states=True}.
 *
 * @param lastHiddenState {@code [B, 1 + N, C]}, the last layer's output (no post-LN)
 * @param poolerOutput {@code [B, C]}, {@code post_layernorm} of the class token
 * @param hiddenStates L + 1 tensors {@code [B, 1 + N, C]}: the embeddings after {@code pre_layrnorm},
 *     then each layer's output
 */
public record ClipVisionOutput(Tensor lastHiddenState, Tensor poolerOutput, List<Tensor> hiddenStates) {}
