package dev.aspo.method.train;

import dev.aspo.method.data.Batch;
import dev.aspo.method.loss.LossResult;
import dev.aspo.method.loss.ResponseWeights;
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
 *
 * <p>{@code nll_weighting: sentence} is this project's variant for ASPO, not RPO's or the paper's:
 * each chosen token's NLL is multiplied by its sentence's effective weight {@code omega} (the one
 * that multiplies the sentence's log-ratio in the reward), over the same count of tokens. The
 * uniform term pulls every chosen sentence up, the wrong ones too, whatever the weights say
 * (docs/RESULTS.md: with it the sentence weights changed 1-5% of DPO's outputs). A response
 * without weights (DPO's, or ASPO's unweighted side) counts every token once, so for DPO both
 * forms give the same value.
 */
final class ChosenNll {
    private ChosenNll() {}

    /** {@code -sum(lp[chosen rows, response positions]) / count}, from per-token log-probs {@code [2n, T]} (0 off target). */
    static Tensor of(Tensor lp, Batch b) {
        int n = b.batch / 2;
        return Arithmetic.scale(Reductions.sum(Shapes.slice(lp, 0, 0, n)), -1f / chosenTokens(b));
    }

    /**
     * {@code -sum_t omega_{s(t)} lp[t] / count} over the chosen rows' response tokens, {@code omega}
     * from {@code res} (the loss of the same batch; 1 where a chosen side has no weights); the
     * weights are constants for the gradient.
     */
    static Tensor sentenceWeighted(Tensor lp, Batch b, LossResult res) {
        int n = b.batch / 2, t = b.seq;
        if (res.pairs().size() != n) {
            throw new IllegalArgumentException("nll_weighting sentence: " + res.pairs().size() + " loss records for " + n + " pairs");
        }
        int count = chosenTokens(b);
        float[] w = new float[n * t];
        for (int j = 0; j < n; j++) {
            ResponseWeights cw = res.pairs().get(j).chosen();
            int[] ids = b.rowSentenceIds(j);
            for (int p = 0; p < t; p++) {
                if (ids[p] < 0) continue;
                w[j * t + p] = cw == null ? 1f : (float) cw.omega()[ids[p]];
            }
        }
        Tensor weights = Tensor.of(lp.backend().upload(w), n, t);
        return Arithmetic.scale(Reductions.sum(Arithmetic.mul(Shapes.slice(lp, 0, 0, n), weights)), -1f / count);
    }

    private static int chosenTokens(Batch b) {
        int n = b.batch / 2, count = 0;
        for (int p = 0; p < n * b.seq; p++) if (b.targets[p] >= 0) count++;
        if (count == 0) throw new IllegalArgumentException("nll_weight: the batch's chosen answers have no tokens");
        return count;
    }
}
