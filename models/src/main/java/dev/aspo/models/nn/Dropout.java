package dev.aspo.models.nn;

import dev.aspo.tensor.Checkpoint;
import dev.aspo.tensor.ReplayableRandom;
import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.ops.Arithmetic;
import java.util.Random;

/**
 * Inverted dropout as torch's {@code nn.Dropout(p)} in training mode: each entry is zeroed with
 * probability {@code p} and the others are divided by {@code 1 - p}, so the expected output is
 * the input. The mask is drawn on the host from the caller's {@link Random} (reproducible from its
 * seed, not torch's stream) and multiplied in; the gradient is the same mask. Inside a
 * {@link Checkpoint}ed layer the generator must be a {@link ReplayableRandom}, so that the layer's
 * recomputation draws the same mask.
 */
public final class Dropout {
    private Dropout() {}

    /** {@code x} with dropout {@code p} in {@code [0, 1)} applied; {@code p == 0} returns {@code x} itself. */
    public static Tensor apply(Tensor x, double p, Random rng) {
        if (!(p >= 0 && p < 1)) throw new IllegalArgumentException("dropout: p must be in [0, 1), got " + p);
        if (p == 0) return x;
        if (Checkpoint.inFirstForward() && !(rng instanceof ReplayableRandom)) {
            throw new IllegalStateException("dropout in a checkpointed layer needs its masks from a ReplayableRandom (the layer is"
                    + " recomputed in the backward and must draw the same masks); got a " + rng.getClass().getName());
        }
        float keep = (float) (1 / (1 - p));
        float[] mask = new float[x.numel()];
        for (int i = 0; i < mask.length; i++) mask[i] = rng.nextDouble() < p ? 0f : keep;
        Tensor m = Tensor.of(mask, x.shape());
        if (m.backend() != x.backend()) m = m.to(x.backend());
        return Arithmetic.mul(x, m);
    }
}
