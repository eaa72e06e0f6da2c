package dev.aspo.method.loss;

import dev.aspo.tensor.Tensor;

/**
 * One response of a preference pair as the loss sees it: per-token log-probs under the policy and
 * the reference, and what the sentence weights need.
 *
 * @param policy      log pi_theta of each token, shape {@code [n]}; carries the graph (gradients
 *                    flow back through it)
 * @param ref         log pi_ref of each token, shape {@code [n]}; a constant
 * @param sentenceIds per token its sentence {@code 0..K-1}, or -1 for a token that is not part of
 *                    the response (prompt, padding): it takes no part in the loss. The ids that
 *                    are not -1 start at 0 and never decrease, by steps of 0 or 1. {@code null}:
 *                    every token is in the response, as one sentence (whole-response DPO)
 * @param similarity  per sentence the image-text similarity {@code S_i} (ASPO with adaptive
 *                    weights and {@code alpha > 0}); else may be null
 * @param oracle      per sentence a ground-truth weight in {@code [0, 1]} (1 correct, 0 wrong), for
 *                    {@link LossConfig.WeightSource#ORACLE}; else null
 * @param weightOrder null, or a permutation that moves the weights between sentences before they are
 *                    normalised (sentence i takes sentence {@code weightOrder[i]}'s): the shuffled control
 */
public record ResponseLogps(Tensor policy, Tensor ref, int[] sentenceIds, double[] similarity, double[] oracle, int[] weightOrder) {

    public ResponseLogps(Tensor policy, Tensor ref, int[] sentenceIds, double[] similarity, double[] oracle) {
        this(policy, ref, sentenceIds, similarity, oracle, null);
    }

    /** A whole response without sentences (DPO). */
    public static ResponseLogps whole(Tensor policy, Tensor ref) {
        return new ResponseLogps(policy, ref, null, null, null);
    }

    /** A response split into sentences, with their similarities (ASPO). */
    public static ResponseLogps sentences(Tensor policy, Tensor ref, int[] sentenceIds, double[] similarity) {
        return new ResponseLogps(policy, ref, sentenceIds, similarity, null);
    }

    public ResponseLogps withOracle(double[] weights) {
        return new ResponseLogps(policy, ref, sentenceIds, similarity, weights);
    }
}
