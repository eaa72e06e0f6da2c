package dev.aspo.method.train;

import dev.aspo.method.data.Batch;

/**
 * Reference log-probs {@code log pi_ref(target)} per batch position ({@code [B*T]}, 0 where a
 * position has no target). Two implementations give the same numbers: {@link FrozenReference}
 * runs a frozen copy of the model on every batch; {@link CachedReference} computed them once per
 * dataset and looks them up.
 */
public interface Reference {
    /**
     * @param batch the padded batch
     * @param keys  per row what it is: {@code 2 * record + side} (side 0 chosen or SFT response, 1 rejected)
     */
    float[] logps(Batch batch, int[] keys);
}
