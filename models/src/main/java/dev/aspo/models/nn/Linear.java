package dev.aspo.models.nn;

import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.ops.Arithmetic;
import dev.aspo.tensor.ops.MatMul;

/** {@code y = x W^T + b} with {@code W [out, in]} as torch stores it ({@code weight}, {@code bias}). */
public final class Linear extends Module {
    public final Tensor weight;
    public final Tensor bias;   // null without bias

    public Linear(int in, int out, boolean bias) {
        this.weight = parameter("weight", out, in);
        this.bias = bias ? parameter("bias", out) : null;
    }

    /** {@code x [..., in]} to {@code [..., out]}. */
    public Tensor forward(Tensor x) {
        Tensor y = MatMul.matmul(x, weight, false, true);
        return bias == null ? y : Arithmetic.add(y, bias);
    }
}
