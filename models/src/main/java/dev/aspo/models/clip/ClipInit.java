package dev.aspo.models.clip;

import dev.aspo.tensor.Tensor;
import java.util.Random;

/**
 * Random initialisation as {@code CLIPPreTrainedModel._init_weights}: normal weights with the
 * per-layer standard deviations of the original CLIP code, zero biases, LayerNorms at (1, 0).
 * The draws come from {@link Random} (not torch's generator), so a seed reproduces our own
 * initialisation, with transformers' distributions but not its numbers.
 */
final class ClipInit {
    private ClipInit() {}

    /** Overwrites {@code p} with N(0, std^2) draws from {@code rng}. */
    static void normal(Tensor p, Random rng, double std) {
        set(p, Tensor.randn(rng, (float) std, p.shape()));
    }

    /** Overwrites {@code p} with {@code value} everywhere. */
    static void constant(Tensor p, float value) {
        p.backend().fill(p.storage(), 0, p.numel(), value);
    }

    private static void set(Tensor p, Tensor values) {
        Tensor src = values.backend() == p.backend() ? values : values.to(p.backend());
        p.backend().copy2d(src.storage(), 0, p.numel(), p.storage(), 0, p.numel(), 1, p.numel(), false);
    }
}
