package dev.aspo.models.nn;

import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.ops.Arithmetic;
import dev.aspo.tensor.ops.MatMul;

/**
 * {@code y = x W^T + b} with {@code W [out, in]} as torch stores it ({@code weight}, {@code bias}),
 * then the {@link LinearAdapter} attached to it, if any.
 */
public final class Linear extends Module {
    public final Tensor weight;
    public final Tensor bias;   // null without bias
    private LinearAdapter adapter;

    public Linear(int in, int out, boolean bias) {
        this.weight = parameter("weight", out, in);
        this.bias = bias ? parameter("bias", out) : null;
    }

    public int inFeatures() {
        return weight.size(1);
    }

    public int outFeatures() {
        return weight.size(0);
    }

    /** The adapter applied after this layer, or null. */
    public LinearAdapter adapter() {
        return adapter;
    }

    /** Attaches {@code adapter} (null detaches): from now on {@link #forward} returns its {@code adapt(x, y)}. */
    public void setAdapter(LinearAdapter adapter) {
        this.adapter = adapter;
    }

    /** {@code x [..., in]} to {@code [..., out]}. */
    public Tensor forward(Tensor x) {
        Tensor y = MatMul.matmul(x, weight, false, true);
        if (bias != null) y = Arithmetic.add(y, bias);
        return adapter == null ? y : adapter.adapt(x, y);
    }
}
