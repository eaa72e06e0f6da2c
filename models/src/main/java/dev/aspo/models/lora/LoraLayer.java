package dev.aspo.models.lora;

import dev.aspo.models.nn.Dropout;
import dev.aspo.models.nn.Linear;
import dev.aspo.models.nn.LinearAdapter;
import dev.aspo.models.nn.Module;
import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.ops.Arithmetic;
import dev.aspo.tensor.ops.MatMul;

/**
 * One LoRA adapter on a {@link Linear} layer, as PEFT's {@code lora.Linear}:
 *
 * <pre>
 *   x [.., in] --base layer-------------------------------------&gt; y [.., out]
 *        \--dropout (training)--lora_A [r, in]--* scaling--lora_B [out, r]--(+)--&gt; [.., out]
 * </pre>
 *
 * Its parameters are {@code lora_A.weight} and {@code lora_B.weight}, the names PEFT gives them
 * below the adapted module. Whether it is applied, and whether dropout is on, is its
 * {@link LoraModel}'s state, shared by all of that model's adapters.
 */
public final class LoraLayer extends Module implements LinearAdapter {
    public final Linear loraA, loraB;
    private final LoraModel owner;
    private final float scaling;
    private final double dropout;

    LoraLayer(LoraModel owner, Linear base, LoraConfig config) {
        this.owner = owner;
        this.loraA = child("lora_A", new Linear(base.inFeatures(), config.r(), false));
        this.loraB = child("lora_B", new Linear(config.r(), base.outFeatures(), false));
        this.scaling = (float) config.scaling();
        this.dropout = config.loraDropout();
    }

    /** What the product {@code x A^T B^T} is multiplied by. */
    public float scaling() {
        return scaling;
    }

    @Override
    public Tensor adapt(Tensor x, Tensor y) {
        if (!owner.enabled()) return y;
        Tensor in = owner.training() ? Dropout.apply(x, dropout, owner.dropoutRng()) : x;
        // scaling applied to the rank-r product (PEFT scales the [.., out] one): the same up to
        // rounding (exactly the same when scaling is a power of two); and lora_B's product added to
        // y inside the GEMM. So the graph keeps one tensor of the layer's output size per adapted
        // layer (the sum) instead of three (product, scaled product, sum)
        return MatMul.addMatmul(y, Arithmetic.scale(loraA.forward(in), scaling), loraB.weight, true);
    }

    /** {@code scaling * B A} as {@code [out, in]} row-major floats (accumulated in double): what merging adds to the weight. */
    float[] delta() {
        float[] a = loraA.weight.toFloatArray(), b = loraB.weight.toFloatArray();
        int r = loraA.weight.size(0), in = loraA.weight.size(1), out = loraB.weight.size(0);
        float[] d = new float[out * in];
        double[] row = new double[in];
        for (int o = 0; o < out; o++) {
            java.util.Arrays.fill(row, 0);
            for (int k = 0; k < r; k++) {
                double bk = b[o * r + k];
                for (int i = 0; i < in; i++) row[i] += bk * a[k * in + i];
            }
            for (int i = 0; i < in; i++) d[o * in + i] = (float) (row[i] * scaling);
        }
        return d;
    }
}
