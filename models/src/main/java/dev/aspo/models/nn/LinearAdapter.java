package dev.aspo.models.nn;

import dev.aspo.tensor.Tensor;

/**
 * Something added to a {@link Linear} layer's output from the same input, such as a LoRA adapter
 * ({@code dev.aspo.models.lora}): the layer computes {@code y = x W^T + b} and returns
 * {@code adapt(x, y)}. It lives beside the layer, not among its parameters, so attaching one
 * changes neither {@link Module#namedParameters()} nor what a checkpoint holds.
 */
@FunctionalInterface
public interface LinearAdapter {
    /** The layer's output given its input {@code x [..., in]} and its own output {@code y [..., out]}. */
    Tensor adapt(Tensor x, Tensor y);
}
