package dev.aspo.tensor.ops;

import dev.aspo.tensor.Autograd;
import dev.aspo.tensor.Backend;
import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.UnaryOp;

/**
 * Elementwise functions {@code y = f(x)}, same shape. Backward {@code dx += dy * f'(x)}; the
 * kernel also gets {@code y}, from which some derivatives are cheapest (exp, tanh, sigmoid, sqrt).
 * Functions with a restricted domain follow IEEE: {@code log} of a negative number is NaN,
 * {@code sqrt(0)}'s gradient is infinite; relu's gradient at 0 is 0 (as torch).
 */
public final class Unary {
    private Unary() {}

    public static Tensor apply(UnaryOp op, Tensor x) {
        Backend be = x.backend();
        Tensor out = Tensor.unfilled(be, x.shape());
        be.unary(op, x.storage(), out.storage(), x.numel());
        if (!Autograd.isRecording(x)) return out;

        return Autograd.record(out, op.name().toLowerCase(java.util.Locale.ROOT), () ->
                be.unaryBackward(op, x.storage(), out.storage(), out.gradBuffer(), x.gradBuffer(), x.numel()), x);
    }

    public static Tensor neg(Tensor x) {
        return apply(UnaryOp.NEG, x);
    }

    public static Tensor exp(Tensor x) {
        return apply(UnaryOp.EXP, x);
    }

    public static Tensor log(Tensor x) {
        return apply(UnaryOp.LOG, x);
    }

    public static Tensor sqrt(Tensor x) {
        return apply(UnaryOp.SQRT, x);
    }

    /** {@code 1 / sqrt(x)}. */
    public static Tensor rsqrt(Tensor x) {
        return apply(UnaryOp.RSQRT, x);
    }

    public static Tensor square(Tensor x) {
        return apply(UnaryOp.SQUARE, x);
    }

    public static Tensor tanh(Tensor x) {
        return apply(UnaryOp.TANH, x);
    }

    public static Tensor sigmoid(Tensor x) {
        return apply(UnaryOp.SIGMOID, x);
    }

    /** {@code log(1 + exp(x))}, and {@code x} itself above 20 (as torch's default threshold). */
    public static Tensor softplus(Tensor x) {
        return apply(UnaryOp.SOFTPLUS, x);
    }

    public static Tensor relu(Tensor x) {
        return apply(UnaryOp.RELU, x);
    }

    /** Exact GELU {@code x * Phi(x)} (HF {@code "gelu"}). */
    public static Tensor gelu(Tensor x) {
        return apply(UnaryOp.GELU, x);
    }

    /** GELU's tanh approximation (HF {@code "gelu_pytorch_tanh"}). */
    public static Tensor geluTanh(Tensor x) {
        return apply(UnaryOp.GELU_TANH, x);
    }

    /** {@code x * sigmoid(1.702 x)}, CLIP's activation. */
    public static Tensor quickGelu(Tensor x) {
        return apply(UnaryOp.QUICK_GELU, x);
    }

    /** {@code x * sigmoid(x)}, Llama's activation. */
    public static Tensor silu(Tensor x) {
        return apply(UnaryOp.SILU, x);
    }
}
