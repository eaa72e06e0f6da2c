package dev.aspo.models.nn;

import dev.aspo.tensor.Tensor;

/** Llama's RMSNorm over the last axis, with {@code weight} (initialised to ones, as HF does). */
public final class RmsNorm extends Module {
    public final Tensor weight;
    public final float eps;

    public RmsNorm(int dim, float eps) {
        this.weight = parameter("weight", dim);
        this.eps = eps;
        weight.backend().fill(weight.storage(), 0, dim, 1f);
    }

    public Tensor forward(Tensor x) {
        return dev.aspo.tensor.ops.RmsNorm.apply(x, weight, eps);
    }
}
