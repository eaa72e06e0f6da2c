package dev.aspo.method.loss;

import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.ops.CrossEntropy;
import java.util.Arrays;

/**
 * Supervised fine-tuning: cross-entropy of the next-token logits on the response tokens only
 * (prompt, image and padding positions have a negative target and are ignored, as torch's -100).
 */
public final class SftLoss {
    /** The target of a position that takes no part in the loss. */
    public static final int IGNORE = -100;

    private SftLoss() {}

    /** Mean cross-entropy over the positions with a target {@code >= 0}; logits {@code [..., V]}, one target per position. */
    public static Tensor loss(Tensor logits, int[] targets) {
        return CrossEntropy.mean(logits, targets);
    }

    /**
     * Next-token targets for a sequence whose response starts at {@code responseStart}: position
     * {@code t} predicts {@code tokens[t + 1]}, kept when that token is in the response, else
     * {@link #IGNORE}; the last position predicts nothing.
     */
    public static int[] shiftedTargets(int[] tokens, int responseStart) {
        if (responseStart < 0 || responseStart > tokens.length) {
            throw new IllegalArgumentException("response start " + responseStart + " is outside the " + tokens.length + " tokens");
        }
        int[] targets = new int[tokens.length];
        Arrays.fill(targets, IGNORE);
        for (int t = Math.max(responseStart, 1); t < tokens.length; t++) targets[t - 1] = tokens[t];
        return targets;
    }
}
