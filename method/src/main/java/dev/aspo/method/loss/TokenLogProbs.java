package dev.aspo.method.loss;

import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.ops.CrossEntropy;
import dev.aspo.tensor.ops.Unary;

/**
 * Per-token log-probs {@code log p(target_t)} from next-token logits: the inputs of the preference
 * losses ({@link ResponseLogps}). It is minus the per-position cross-entropy, so it shares that
 * op's fused log-softmax and its backward.
 */
public final class TokenLogProbs {
    private TokenLogProbs() {}

    /** Logits {@code [..., V]} and one target per position; 0 where the target is negative. Shape: the logits' without V. */
    public static Tensor of(Tensor logits, int[] targets) {
        return Unary.neg(CrossEntropy.perRow(logits, targets));
    }
}
