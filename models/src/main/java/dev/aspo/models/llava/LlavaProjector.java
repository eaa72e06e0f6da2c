package dev.aspo.models.llava;

import dev.aspo.models.nn.Linear;
import dev.aspo.models.nn.Module;
import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.ops.Unary;

/**
 * HF's {@code LlavaMultiModalProjector} ({@code multi_modal_projector.*}): vision features into
 * the language model's embedding space.
 *
 * <pre>
 *   features [.., Cv * layers] --linear_1--> [.., C] --projector_hidden_act--> --linear_2--> [.., C]
 * </pre>
 */
public final class LlavaProjector extends Module {
    public final Linear linear1;
    public final Linear linear2;
    private final String activation;

    public LlavaProjector(int in, int hidden, boolean bias, String activation) {
        checkActivation(activation);
        this.linear1 = child("linear_1", new Linear(in, hidden, bias));
        this.linear2 = child("linear_2", new Linear(hidden, hidden, bias));
        this.activation = activation;
    }

    public Tensor forward(Tensor features) {
        return linear2.forward(activate(activation, linear1.forward(features)));
    }

    /** transformers' {@code ACT2FN[name]} for the names implemented here. */
    static Tensor activate(String name, Tensor x) {
        switch (name) {
            case "gelu": return Unary.gelu(x);
            case "gelu_pytorch_tanh":
            case "gelu_new": return Unary.geluTanh(x);
            case "quick_gelu": return Unary.quickGelu(x);
            case "silu":
            case "swish": return Unary.silu(x);
            case "relu": return Unary.relu(x);
            default: throw new IllegalArgumentException(unsupported(name));
        }
    }

    /** Throws when {@code name} is not an activation {@link #activate} implements. */
    static void checkActivation(String name) {
        switch (name == null ? "" : name) {
            case "gelu": case "gelu_pytorch_tanh": case "gelu_new": case "quick_gelu": case "silu": case "swish": case "relu":
                return;
            default: throw new IllegalArgumentException(unsupported(name));
        }
    }

    private static String unsupported(String name) {
        return "\"" + name + "\" is not supported (supported: gelu, gelu_pytorch_tanh, gelu_new, quick_gelu, silu, swish, relu)";
    }
}
