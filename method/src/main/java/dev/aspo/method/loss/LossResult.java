package dev.aspo.method.loss;

import dev.aspo.tensor.Tensor;
import java.util.List;

/**
 * The batch loss (mean over records, shape {@code [1]}, with the graph back to the policy
 * log-probs: call {@code loss().backward()}) and what happened in each record.
 */
public record LossResult(LossConfig config, Tensor loss, List<PairResult> pairs) {
    public LossResult {
        pairs = List.copyOf(pairs);
    }

    /** The mean loss as a number. */
    public float value() {
        return loss.item();
    }

    /**
     * One record.
     *
     * @param loss           its loss
     * @param rewardChosen   {@code r_c*} ({@code r_c} for DPO): the reward that enters the loss; under
     *                       ipo {@code beta} times the summed (not the averaged) log-ratios, as TRL logs it
     * @param rewardRejected {@code r_r*} under {@code inverse}, else {@code r_r}
     * @param logpsChosen    sum of the policy log-probs over the chosen response's tokens
     * @param logpsRejected  the same for the rejected response
     * @param chosen         the chosen response's sentence weights, null for DPO
     * @param rejected       the rejected response's, null unless {@code rejected-weighting = inverse}
     */
    public record PairResult(float loss, float rewardChosen, float rewardRejected, double logpsChosen,
                             double logpsRejected, ResponseWeights chosen, ResponseWeights rejected) {}
}
