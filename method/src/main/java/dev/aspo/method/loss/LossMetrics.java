package dev.aspo.method.loss;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The loss-side metrics of a batch under the names of docs/METHOD.md ("Metrics", TRL's where TRL
 * has one). The trainer adds {@code grad_norm}, {@code lr} and {@code tokens_per_s}.
 *
 * <ul>
 *   <li>{@code rewards/*}: means over records of the rewards that enter the loss ({@code r_c*},
 *       {@code r_r*} for ASPO; under ipo {@code beta} times the summed log-ratios while the loss
 *       averages them per token, as TRL 1.13); {@code rewards/accuracies}: the share with
 *       {@code r_c > r_r}.</li>
 *   <li>{@code logps/*}: means of the summed policy log-probs of each response.</li>
 *   <li>{@code aspo/*} (ASPO only): mean K of the chosen responses; mean and population standard
 *       deviation of the chosen sentence weights {@code w_i}, pooled over the batch; the largest
 *       {@code omega_i} of any weighted response; the number of weighted responses for which
 *       {@code reward-ratio} fell back to {@code mean}.</li>
 * </ul>
 */
public final class LossMetrics {
    private LossMetrics() {}

    public static Map<String, Double> of(LossResult result) {
        Map<String, Double> m = new LinkedHashMap<>();
        int b = result.pairs().size();
        double chosen = 0, rejected = 0, margins = 0, accuracies = 0, logpsChosen = 0, logpsRejected = 0;
        double sentences = 0, wSum = 0, wSq = 0, omegaMax = Double.NEGATIVE_INFINITY;
        int wCount = 0, fallbacks = 0;
        for (LossResult.PairResult p : result.pairs()) {
            chosen += p.rewardChosen();
            rejected += p.rewardRejected();
            margins += (double) p.rewardChosen() - p.rewardRejected();
            accuracies += p.rewardChosen() > p.rewardRejected() ? 1 : 0;
            logpsChosen += p.logpsChosen();
            logpsRejected += p.logpsRejected();
            if (p.chosen() != null) {
                sentences += p.chosen().sentences();
                for (double w : p.chosen().weights()) {
                    wSum += w;
                    wSq += w * w;
                    wCount++;
                }
            }
            for (ResponseWeights side : new ResponseWeights[] {p.chosen(), p.rejected()}) {
                if (side == null) continue;
                for (double o : side.omega()) omegaMax = Math.max(omegaMax, o);
                if (side.fallback()) fallbacks++;
            }
        }
        m.put("loss", (double) result.value());
        m.put("rewards/chosen", chosen / b);
        m.put("rewards/rejected", rejected / b);
        m.put("rewards/margins", margins / b);
        m.put("rewards/accuracies", accuracies / b);
        m.put("logps/chosen", logpsChosen / b);
        m.put("logps/rejected", logpsRejected / b);
        if (result.config().weightsChosen()) {
            double mean = wSum / wCount;
            m.put("aspo/sentences", sentences / b);
            m.put("aspo/weight_mean", mean);
            m.put("aspo/weight_std", Math.sqrt(Math.max(0, wSq / wCount - mean * mean)));
            m.put("aspo/omega_max", omegaMax);
            m.put("aspo/ratio_fallbacks", (double) fallbacks);
        }
        return m;
    }
}
