package dev.aspo.method.loss;

/**
 * The sentence quantities of one weighted response (docs/METHOD.md steps 2-7), all per sentence
 * {@code i = 0..K-1}, computed in double from detached values: constants for the gradient.
 *
 * @param tokenCounts      {@code n_i}
 * @param logRatios        {@code l_i = sum_{t in s_i} (log pi_theta(t) - log pi_ref(t))}
 * @param perplexities     {@code PPL_i = exp(-(1/n_i) sum_{t in s_i} log pi_src(t))}
 * @param perplexityScores {@code P'_i}, min-max normalised {@code P_i = -PPL_i}
 * @param similarityScores {@code S'_i}, min-max normalised similarities; null when none were given
 * @param weights          {@code w_i} (chosen: {@code alpha S' + (1 - alpha) P'}; rejected under
 *                         {@code inverse}: one minus that; oracle: the given weights, or one minus them)
 * @param omega            the effective weights {@code omega_i} that multiply {@code l_i} in the reward
 * @param fallback         {@code reward-ratio} fell back to {@code mean} for this response
 */
public record ResponseWeights(int[] tokenCounts, double[] logRatios, double[] perplexities, double[] perplexityScores,
                              double[] similarityScores, double[] weights, double[] omega, boolean fallback) {

    /** The number of sentences K. */
    public int sentences() {
        return weights.length;
    }
}
