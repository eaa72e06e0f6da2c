package dev.aspo.models.clip;

import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.ops.Unary;

/** The MLP activations CLIP checkpoints use, under their HF {@code hidden_act} names. */
public enum ClipActivation {
    /** {@code x * sigmoid(1.702 x)}: OpenAI's CLIP and LLaVA-1.5's vision tower. */
    QUICK_GELU("quick_gelu"),
    /** Exact GELU {@code x * Phi(x)}. */
    GELU("gelu");

    private final String hfName;

    ClipActivation(String hfName) {
        this.hfName = hfName;
    }

    public String hfName() {
        return hfName;
    }

    public Tensor apply(Tensor x) {
        return this == QUICK_GELU ? Unary.quickGelu(x) : Unary.gelu(x);
    }

    /** The activation named {@code name} in a config, or an error naming what is supported. */
    public static ClipActivation fromHf(String name) {
        for (ClipActivation a : values()) if (a.hfName.equals(name)) return a;
        throw new IllegalArgumentException("hidden_act '" + name + "' is not supported (supported: quick_gelu, gelu)");
    }
}
