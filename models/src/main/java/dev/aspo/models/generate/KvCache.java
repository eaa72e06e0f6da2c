package dev.aspo.models.generate;

import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.ops.Shapes;
import java.util.Arrays;

/**
 * The keys and values every attention layer has already computed, so a decoder step only runs
 * the new tokens: per layer {@code K, V [B, S, Hkv*D]} (the projection layout the attention op
 * takes, keys after RoPE), grown by concatenation along the sequence axis, plus the key-padding
 * mask {@code [B*S]} of the cached positions.
 *
 * <pre>
 *   forward of T new tokens (past S cached):
 *     keyMask = begin(B, T, newMask)        [B*(S+T)]: cached mask ++ new mask, per row
 *     per layer i:  K, V = update(i, k_new, v_new)   [B, S+T, Hkv*D]
 *                   attention(q_new, K, V, causal)   query t sees keys s <= S + t
 *     commit()                              S += T
 * </pre>
 *
 * Concatenation copies the cache once per step and layer, the same order of memory traffic as
 * the attention that reads it, and keeps every tensor contiguous as the ops require. Meant for
 * inference under {@link dev.aspo.tensor.Autograd#noGrad()}: with gradients on, the cache would
 * hold the graph of every step. Not thread-safe; one cache per generation.
 */
public final class KvCache {
    private final Tensor[] keys, values;
    private int batch = -1;
    private int length;
    /** Mask of the cached positions, {@code [B*length]}; null while every cached key is kept. */
    private float[] mask;
    /** Set between {@link #begin} and {@link #commit}: the number of new tokens. */
    private int pending = -1;
    private float[] pendingMask;

    public KvCache(int layers) {
        if (layers <= 0) throw new IllegalArgumentException("KvCache: layers must be positive, got " + layers);
        keys = new Tensor[layers];
        values = new Tensor[layers];
    }

    public int layers() {
        return keys.length;
    }

    /** Number of cached positions {@code S} (0 before the first forward). */
    public int length() {
        return length;
    }

    /** The batch size, fixed by the first forward; -1 before it. */
    public int batch() {
        return batch;
    }

    /** Cached keys of {@code layer}, {@code [B, S, Hkv*D]}, or null before the first forward. */
    public Tensor keys(int layer) {
        return keys[layer];
    }

    public Tensor values(int layer) {
        return values[layer];
    }

    /** The mask of the cached positions {@code [B*S]} (1 keep, 0 pad), or null when all are kept. */
    public float[] mask() {
        return mask == null ? null : mask.clone();
    }

    /**
     * Starts a forward of {@code newTokens} tokens per row with {@code newMask} ({@code [B*T]}, null
     * for all kept) and returns the key mask over cached + new keys ({@code [B*(S+T)]}, null when
     * every key is kept).
     */
    public float[] begin(int batch, int newTokens, float[] newMask) {
        if (pending >= 0) {
            throw new IllegalStateException("KvCache: a forward is already in progress (an earlier one failed?); "
                    + "start a new cache");
        }
        if (this.batch >= 0 && batch != this.batch) {
            throw new IllegalArgumentException("KvCache: holds a batch of " + this.batch + " rows, the forward has " + batch);
        }
        if (newMask != null && newMask.length != batch * newTokens) {
            throw new IllegalArgumentException("KvCache: mask of " + newMask.length + " entries for " + batch + " x "
                    + newTokens + " new tokens");
        }
        this.batch = batch;
        pending = newTokens;
        int total = length + newTokens;
        if (mask == null && newMask == null) {
            pendingMask = null;
        } else {
            pendingMask = new float[batch * total];
            Arrays.fill(pendingMask, 1f);
            for (int b = 0; b < batch; b++) {
                if (mask != null) System.arraycopy(mask, b * length, pendingMask, b * total, length);
                if (newMask != null) System.arraycopy(newMask, b * newTokens, pendingMask, b * total + length, newTokens);
            }
        }
        return pendingMask == null ? null : pendingMask.clone();
    }

    /**
     * Appends this forward's keys and values {@code [B, T, Hkv*D]} of {@code layer} and returns
     * all of them, {@code {K, V}} of shape {@code [B, S+T, Hkv*D]}.
     */
    public Tensor[] update(int layer, Tensor k, Tensor v) {
        if (pending < 0) throw new IllegalStateException("KvCache.update before begin");
        if (layer < 0 || layer >= keys.length) {
            throw new IllegalArgumentException("KvCache: layer " + layer + " outside [0, " + keys.length + ")");
        }
        if (k.rank() != 3 || k.size(0) != batch || k.size(1) != pending || !Arrays.equals(k.shape(), v.shape())) {
            throw new IllegalArgumentException("KvCache: layer " + layer + " got k " + Arrays.toString(k.shape()) + ", v "
                    + Arrays.toString(v.shape()) + ", expected both [" + batch + ", " + pending + ", Hkv*D]");
        }
        Tensor oldK = keys[layer], oldV = values[layer];
        int cached = oldK == null ? 0 : oldK.size(1);
        if (cached != length) {
            throw new IllegalStateException("KvCache: layer " + layer + " was already updated in this forward");
        }
        if (oldK != null && oldK.size(2) != k.size(2)) {
            throw new IllegalArgumentException("KvCache: layer " + layer + " holds keys of width " + oldK.size(2) + ", got "
                    + k.size(2));
        }
        keys[layer] = oldK == null ? k : Shapes.concat(1, oldK, k);
        values[layer] = oldV == null ? v : Shapes.concat(1, oldV, v);
        return new Tensor[] {keys[layer], values[layer]};
    }

    /** Ends the forward: every layer must have been updated; the cache now holds {@code S+T} positions. */
    public void commit() {
        if (pending < 0) throw new IllegalStateException("KvCache.commit before begin");
        for (int i = 0; i < keys.length; i++) {
            if (keys[i] == null || keys[i].size(1) != length + pending) {
                throw new IllegalStateException("KvCache: layer " + i + " was not updated in this forward");
            }
        }
        length += pending;
        mask = pendingMask;
        pending = -1;
        pendingMask = null;
    }
}
