package dev.aspo.models.clip;

import static dev.aspo.tensor.ops.Arithmetic.add;

import dev.aspo.models.nn.LayerNorm;
import dev.aspo.models.nn.Module;
import dev.aspo.tensor.Tensor;
import java.util.Random;

/**
 * HF {@code CLIPEncoderLayer}, pre-LN:
 * <pre>
 *   x --+--> layer_norm1 --> self_attn --(+)--+--> layer_norm2 --> mlp --(+)--> out
 *       |______________________________^      |________________________^
 * </pre>
 */
public final class ClipEncoderLayer extends Module {
    public final ClipAttention selfAttn;
    public final LayerNorm layerNorm1;
    public final ClipMlp mlp;
    public final LayerNorm layerNorm2;

    public ClipEncoderLayer(int hidden, int intermediate, int heads, ClipActivation act, float eps) {
        this.selfAttn = child("self_attn", new ClipAttention(hidden, heads));
        this.layerNorm1 = child("layer_norm1", new LayerNorm(hidden, eps));
        this.mlp = child("mlp", new ClipMlp(hidden, intermediate, act));
        this.layerNorm2 = child("layer_norm2", new LayerNorm(hidden, eps));
    }

    public Tensor forward(Tensor x, boolean causal, float[] keyMask) {
        Tensor h = add(x, selfAttn.forward(layerNorm1.forward(x), causal, keyMask));
        return add(h, mlp.forward(layerNorm2.forward(h)));
    }

    void init(Random rng, int hidden, int layers, double factor) {
        selfAttn.init(rng, hidden, layers, factor);
        mlp.init(rng, hidden, layers, factor);
        ClipInit.constant(layerNorm1.weight, 1f);
        ClipInit.constant(layerNorm1.bias, 0f);
        ClipInit.constant(layerNorm2.weight, 1f);
        ClipInit.constant(layerNorm2.bias, 0f);
    }
}
