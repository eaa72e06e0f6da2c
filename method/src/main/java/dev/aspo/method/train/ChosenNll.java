package dev.aspo.method.train;

import dev.aspo.method.data.Batch;
import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.ops.Arithmetic;
import dev.aspo.tensor.ops.Reductions;
import dev.aspo.tensor.ops.Shapes;

/**
 * The NLL term that RPO (Pang et al., arXiv 2404.19733) and TRL's {@code "sft"} loss type add to
 * DPO: the mean negative log-likelihood of the chosen answers' tokens, over every chosen response
 * token of the batch (as TRL's {@code nll_loss}, a cross-entropy over the flattened chosen
 * tokens). It keeps the chosen answer likely while DPO widens the margin, against DPO's drift of
 * probability away from both answers.
 */
final class ChosenNll {
    private ChosenNll() {}

    /** {@code -sum(lp[chosen rows, response positions]) / count}, from per-token log-probs {@code [2n, T]} (0 off target). */
    static Tensor of(Tensor lp, Batch b) {
        int n = b.batch / 2, count = 0;
        for (int p = 0; p < n * b.seq; p++) if (b.targets[p] >= 0) count++;
        if (count == 0) throw new IllegalArgumentException("nll_weight: the batch's chosen answers have no tokens");
        return Arithmetic.scale(Reductions.sum(Shapes.slice(lp, 0, 0, n)), -1f / count);
    }
}
