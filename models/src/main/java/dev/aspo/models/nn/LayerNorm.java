package dev.aspo.models.nn;

import dev.aspo.tensor.Tensor;

/** torch's {@code nn.LayerNorm} over the last axis, with {@code weight} and {@code bias}. */
public final class LayerNorm extends Module {
    public final Tensor weight;
    public final Tensor bias;
    public final float eps;

    public LayerNorm(int dim, float eps) {
        this.weight = parameter("weight", dim);
        this.bias = parameter("bias", dim);
        this.eps = eps;
        weight.backend().fill(weight.storage(), 0, dim, 1f);
    }

    public Tensor forward(Tensor x) {
        return dev.aspo.tensor.ops.LayerNorm.apply(x, weight, bias, eps);
    }
}
