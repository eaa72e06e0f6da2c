package dev.aspo.models.nn;

import dev.aspo.tensor.Tensor;

/** A lookup table {@code weight [count, dim]}; gradients scatter-add into the rows used. */
public final class Embedding extends Module {
    public final Tensor weight;

    public Embedding(int count, int dim) {
        this.weight = parameter("weight", count, dim);
    }

    /** Rows of {@code ids} (shape {@code idsShape}) as {@code [...idsShape, dim]}. */
    public Tensor forward(int[] ids, int... idsShape) {
        return dev.aspo.tensor.ops.Embedding.lookup(weight, ids, idsShape);
    }
}
