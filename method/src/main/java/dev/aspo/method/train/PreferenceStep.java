package dev.aspo.method.train;

import dev.aspo.method.data.Batch;
import dev.aspo.method.loss.DevicePreferenceLoss;
import dev.aspo.method.loss.LossConfig;
import dev.aspo.method.loss.LossResult;
import dev.aspo.method.loss.PreferenceLoss;
import dev.aspo.method.loss.PreferencePair;
import dev.aspo.method.loss.ResponseLogps;
import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.ops.Shapes;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The DPO/ASPO loss of one concatenated batch (rows {@code 0..n-1} chosen, {@code n..2n-1}
 * rejected), from the policy's per-token log-probs and the reference's:
 * <pre>
 *   lp [2n, T] --row r--&gt; ResponseLogps(policy row, reference row, sentence ids of row r)
 *   DPO: every response position in sentence 0 (K = 1); ASPO: the batch's sentence ids
 *   --&gt; PreferenceLoss (the weights come from the detached rows and the similarities)
 * </pre>
 * On the OpenCL backend the whole batch is one device op instead ({@link DevicePreferenceLoss}: same
 * numbers for every configuration, three kernel launches instead of a few dozen small ops per record).
 * Prompt and padding positions have sentence id -1 and no part in the loss.
 */
public final class PreferenceStep {
    private PreferenceStep() {}

    /**
     * @param lp         policy log-probs {@code [2n, T]} (with the graph)
     * @param ref        reference log-probs {@code [2n * T]}
     * @param simChosen  per pair the chosen sentences' similarities (ASPO with alpha &gt; 0), or with
     *                   {@code weights: oracle} their ground-truth labels; else null
     * @param simRejected per pair the rejected sentences' (rejected weighting {@code inverse}), else null
     */
    public static LossResult loss(LossConfig config, Tensor lp, float[] ref, Batch b, List<double[]> simChosen,
                                  List<double[]> simRejected) {
        return loss(config, lp, ref, b, simChosen, simRejected, null);
    }

    /**
     * The same with the chosen sentences' weights moved between sentences by a permutation per
     * pair ({@code weightOrders}, null for none; the shuffled control), computed by the op path.
     */
    public static LossResult loss(LossConfig config, Tensor lp, float[] ref, Batch b, List<double[]> simChosen,
                                  List<double[]> simRejected, List<int[]> weightOrders) {
        int n = b.batch / 2, t = b.seq;
        if (b.batch != 2 * n || lp.rank() != 2 || lp.size(0) != b.batch || lp.size(1) != t || ref.length != b.batch * t) {
            throw new IllegalArgumentException("preference step: need [2n, T] log-probs for a batch of 2n rows, got "
                    + Arrays.toString(lp.shape()) + " for " + b.batch + " x " + t);
        }
        if (weightOrders == null && DevicePreferenceLoss.supports(config, lp.backend())) {
            return DevicePreferenceLoss.compute(config, lp, ref, b.sentenceIds, simChosen, simRejected);
        }
        List<PreferencePair> pairs = new ArrayList<>(n);
        for (int j = 0; j < n; j++) {
            pairs.add(new PreferencePair(side(config, lp, ref, b, j, config.weightsChosen(), simChosen == null ? null : simChosen.get(j),
                    weightOrders == null ? null : weightOrders.get(j)),
                    side(config, lp, ref, b, n + j, config.weightsRejected(), simRejected == null ? null : simRejected.get(j), null)));
        }
        return PreferenceLoss.compute(config, pairs);
    }

    private static ResponseLogps side(LossConfig config, Tensor lp, float[] ref, Batch b, int row, boolean weighted, double[] sim,
                                      int[] order) {
        int t = b.seq;
        Tensor policyRow = Shapes.slice(lp, 0, row, row + 1).reshape(t);
        Tensor refRow = Tensor.of(Arrays.copyOfRange(ref, row * t, (row + 1) * t), t);
        if (!weighted) return new ResponseLogps(policyRow, refRow, b.rowResponseMask(row), null, null);
        if (config.weightSource() == LossConfig.WeightSource.ORACLE) {
            return new ResponseLogps(policyRow, refRow, b.rowSentenceIds(row), null, sim, order);
        }
        return new ResponseLogps(policyRow, refRow, b.rowSentenceIds(row), sim, null, order);
    }
}
