package dev.aspo.tensor.ops;

import dev.aspo.tensor.Autograd;
import dev.aspo.tensor.Backend;
import dev.aspo.tensor.Tensor;
import java.util.Arrays;

/**
 * Rotary position embedding, Llama's rotate-half form (HF {@code apply_rotary_pos_emb}):
 *
 * <pre>
 *   x [B, T, H, D], positions [B*T] --> halves a = x[..D/2), b = x[D/2..D)
 *   y = (a cos - b sin,  b cos + a sin),  angle[j] = positions[b*T + t] / theta^(2j/D)
 * </pre>
 *
 * A projection output {@code [B, T, H*D]} goes in as {@code x.reshape(B, T, H, D)} (a free view)
 * and comes back the same way. Positions are per (batch, token), so left padding and KV-cache
 * offsets are the caller's choice. The backward is the inverse rotation.
 */
public final class Rope {
    private Rope() {}

    public static Tensor apply(Tensor x, int[] positions, float theta) {
        if (x.rank() != 4) {
            throw new IllegalArgumentException("rope: x must be [B, T, H, D], got " + Arrays.toString(x.shape())
                    + " (reshape a [B, T, H*D] projection with x.reshape(B, T, H, D))");
        }
        int batch = x.size(0), seq = x.size(1), heads = x.size(2), headDim = x.size(3);
        if (headDim % 2 != 0) {
            throw new IllegalArgumentException("rope: head dimension must be even, x has shape " + Arrays.toString(x.shape()));
        }
        if (positions.length != batch * seq) {
            throw new IllegalArgumentException("rope: " + positions.length + " positions for x " + Arrays.toString(x.shape())
                    + ", expected B*T = " + batch * seq);
        }
        if (!(theta > 0)) throw new IllegalArgumentException("rope: theta must be positive, got " + theta);
        int[] pos = positions.clone();        // the backward runs later; the caller may reuse its array

        Backend be = x.backend();
        Tensor out = Tensor.unfilled(be, x.shape());
        be.rope(x.storage(), out.storage(), pos, batch, seq, heads, headDim, theta, false);
        if (!Autograd.isRecording(x)) return out;

        return Autograd.record(out, "rope", () -> be.rope(out.gradBuffer(), x.gradBuffer(), pos, batch, seq, heads,
                headDim, theta, true), x);
    }
}
