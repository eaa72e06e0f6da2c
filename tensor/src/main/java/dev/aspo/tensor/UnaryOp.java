package dev.aspo.tensor;

/** Elementwise functions with a kernel in every backend. */
public enum UnaryOp {
    NEG, EXP, LOG, SQRT, RSQRT, SQUARE, TANH, SIGMOID, SOFTPLUS, RELU,
    /** Exact GELU, {@code x * Phi(x)} with the erf (HF {@code "gelu"}). */
    GELU,
    /** GELU's tanh approximation (HF {@code "gelu_pytorch_tanh"}). */
    GELU_TANH,
    /** {@code x * sigmoid(1.702 x)}, CLIP's activation (HF {@code "quick_gelu"}). */
    QUICK_GELU,
    /** {@code x * sigmoid(x)}, Llama's (HF {@code "silu"}). */
    SILU
}
