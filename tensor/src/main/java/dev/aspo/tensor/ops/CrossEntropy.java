package dev.aspo.tensor.ops;

import dev.aspo.tensor.Autograd;
import dev.aspo.tensor.Backend;
import dev.aspo.tensor.Storage;
import dev.aspo.tensor.Tensor;
import java.util.Arrays;

/**
 * Cross-entropy of logits {@code [..., V]} against integer class targets, one per position
 * (row-major over the leading axes). A negative target (such as torch's {@code -100}) ignores the
 * position: its loss is 0 and it gets no gradient.
 *
 * <pre>
 *   logits [B, T, V] --logsumexp - x[target]--&gt; perRow [B, T] --sum / #kept--&gt; mean [1]
 * </pre>
 *
 * The log-sum-exp of each row is saved in the forward, so the backward
 * {@code dx = dloss * (softmax(x) - onehot(target))} needs no second max/sum pass.
 */
public final class CrossEntropy {
    private CrossEntropy() {}

    /**
     * The loss at every position: shape = logits' shape without the last axis ({@code [1]} for
     * 1-D logits); 0 where the target is negative.
     */
    public static Tensor perRow(Tensor logits, int[] targets) {
        int[] s = logits.shape();
        if (logits.rank() == 0 || logits.size(-1) == 0) {
            throw new IllegalArgumentException("crossEntropy: logits " + Arrays.toString(s) + " have no class axis");
        }
        int cols = logits.size(-1), rows = logits.numel() / cols;
        if (targets.length != rows) {
            throw new IllegalArgumentException("crossEntropy: " + targets.length + " targets for logits " + Arrays.toString(s)
                    + " (" + rows + " positions)");
        }
        for (int r = 0; r < rows; r++) {
            if (targets[r] >= cols) {
                throw new IllegalArgumentException("crossEntropy: target " + targets[r] + " at position " + r
                        + " is out of range for logits " + Arrays.toString(s) + " (" + cols
                        + " classes; a negative target ignores the position)");
            }
        }
        int[] target = targets.clone();   // the backward reads it later
        Backend be = logits.backend();
        Tensor out = Tensor.zeros(be, s.length == 1 ? new int[] {1} : Arrays.copyOf(s, s.length - 1));
        Storage lse = Autograd.allocateSaved(be, rows);
        be.crossEntropy(logits.storage(), target, out.storage(), lse, rows, cols);
        if (!Autograd.isRecording(logits)) return out;

        return Autograd.record(out, "crossEntropy", () -> be.crossEntropyBackward(logits.storage(), target, lse,
                out.gradBuffer(), logits.gradBuffer(), rows, cols), new Storage[] {lse}, logits);
    }

    /**
     * The mean loss over the positions whose target is not ignored, shape {@code [1]} (torch's
     * {@code F.cross_entropy(..., ignore_index=-100, reduction='mean')}, for any negative target).
     * If every target is ignored the result is 0 with a zero gradient (torch gives NaN): a batch with
     * nothing to learn from then leaves the parameters alone instead of poisoning them.
     */
    public static Tensor mean(Tensor logits, int[] targets) {
        Tensor sum = Reductions.sum(perRow(logits, targets));
        // 1 / max(1, kept) as a constant tensor made by the backend from the targets (not a host
        // scalar), so that a recorded step replayed on new targets divides by their count; one
        // float straight from the backend (a step-pool buffer would stay wrapped by this leaf)
        Storage factor = logits.backend().allocate(1);
        logits.backend().inverseCount(targets, factor);
        return Arithmetic.mul(sum, Tensor.of(factor, 1));
    }
}
