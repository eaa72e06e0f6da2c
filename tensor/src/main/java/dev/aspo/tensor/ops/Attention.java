package dev.aspo.tensor.ops;

import dev.aspo.tensor.Autograd;
import dev.aspo.tensor.Backend;
import dev.aspo.tensor.Storage;
import dev.aspo.tensor.Tensor;
import java.util.Arrays;

/**
 * Fused scaled-dot-product attention with grouped-query heads, in the projection layout (no
 * head transposes before or after):
 *
 * <pre>
 *   q [B, T, Hq*D]    k, v [B, S, Hkv*D]     query head h reads kv head h / (Hq/Hkv)
 *        \                 /
 *   softmax(q k^T * scale + masks) v  -->  out [B, T, Hq*D]
 * </pre>
 *
 * With {@code causal}, query {@code t} sees keys {@code s <= t + S - T} (the first {@code S - T}
 * keys are a KV cache). {@code keyMask} ({@code [B*S]}, 1 keep, 0 drop; null for none) masks
 * padding keys. A query that sees no key at all gets a zero output and zero gradient.
 */
public final class Attention {
    private Attention() {}

    /** Attention with the usual scale {@code 1/sqrt(D)}. */
    public static Tensor apply(Tensor q, Tensor k, Tensor v, int qHeads, int kvHeads, boolean causal, float[] keyMask) {
        if (q.rank() != 3 || qHeads <= 0 || q.size(2) % qHeads != 0) {
            throw new IllegalArgumentException("attention: q must be [B, T, Hq*D] with Hq = " + qHeads + ", got "
                    + Arrays.toString(q.shape()));
        }
        int headDim = q.size(2) / qHeads;
        return apply(q, k, v, qHeads, kvHeads, causal, keyMask, (float) (1.0 / Math.sqrt(headDim)));
    }

    public static Tensor apply(Tensor q, Tensor k, Tensor v, int qHeads, int kvHeads, boolean causal, float[] keyMask,
                               float scale) {
        String shapes = "q " + Arrays.toString(q.shape()) + ", k " + Arrays.toString(k.shape()) + ", v "
                + Arrays.toString(v.shape()) + ", Hq = " + qHeads + ", Hkv = " + kvHeads;
        if (qHeads <= 0 || kvHeads <= 0 || qHeads % kvHeads != 0) {
            throw new IllegalArgumentException("attention: query heads must be a multiple of kv heads: " + shapes);
        }
        if (q.rank() != 3 || k.rank() != 3 || !Arrays.equals(k.shape(), v.shape())) {
            throw new IllegalArgumentException("attention: expected q [B, T, Hq*D] and k, v both [B, S, Hkv*D]: " + shapes);
        }
        if (q.size(2) % qHeads != 0) {
            throw new IllegalArgumentException("attention: q's last axis is not Hq*D: " + shapes);
        }
        int batch = q.size(0), seq = q.size(1), keySeq = k.size(1), headDim = q.size(2) / qHeads;
        if (k.size(0) != batch || k.size(2) != kvHeads * headDim) {
            throw new IllegalArgumentException("attention: k and v must be [" + batch + ", S, " + kvHeads * headDim
                    + "] (B, S, Hkv*D with D = " + headDim + "): " + shapes);
        }
        if (keyMask != null && keyMask.length != batch * keySeq) {
            throw new IllegalArgumentException("attention: keyMask has " + keyMask.length + " entries, expected B*S = "
                    + batch * keySeq + ": " + shapes);
        }
        float[] mask = keyMask == null ? null : keyMask.clone();

        Backend be = q.backend();
        Tensor out = Tensor.unfilled(be, q.shape());
        Storage probs = Autograd.allocateSavedUnfilled(be, batch * qHeads * seq * keySeq);
        be.attention(q.storage(), k.storage(), v.storage(), out.storage(), probs, mask,
                batch, seq, keySeq, qHeads, kvHeads, headDim, scale, causal);
        if (!Autograd.isRecording(q, k, v)) return out;

        return Autograd.record(out, "attention", () -> be.attentionBackward(q.storage(), k.storage(), v.storage(), probs,
                out.gradBuffer(),
                Autograd.needsGrad(q) ? q.gradBuffer() : null,
                Autograd.needsGrad(k) ? k.gradBuffer() : null,
                Autograd.needsGrad(v) ? v.gradBuffer() : null,
                batch, seq, keySeq, qHeads, kvHeads, headDim, scale), new Storage[] {probs}, q, k, v);
    }
}
