package dev.aspo.method.loss;

import dev.aspo.tensor.Autograd;
import dev.aspo.tensor.Backend;
import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.ops.Arithmetic;
import dev.aspo.tensor.ops.Reductions;
import dev.aspo.tensor.ops.SegmentSum;
import dev.aspo.tensor.ops.Shapes;
import dev.aspo.tensor.ops.Unary;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * DPO and ASPO (docs/METHOD.md) on per-token log-probs, built from tensor ops so that the gradient with
 * respect to the policy log-probs comes from {@code backward()}.
 *
 * <pre>
 *   policy[n], ref[n] --sub--&gt; d[n] --mul a[n]--&gt; --sum--&gt; z --scale beta--&gt; r        (per response)
 *   a_t = omega_{s(t)} (ASPO) or 1 (DPO), 0 for tokens outside the response; divided by n for IPO
 *   sigmoid: loss = (1 - ls) softplus(r_r - r_c) + ls softplus(r_c - r_r)
 *   ipo:     loss = (z_c - z_r - 1 / (2 beta))^2
 *   batch loss = mean over records
 * </pre>
 *
 * <p>{@code sum_i omega_i l_i} is computed as {@code sum_t omega_{s(t)} d_t} (the same number): a
 * per-token weight keeps the invariants exact in float, not only up to rounding. With
 * {@code omega = 1} the ASPO reward is the DPO reward bit for bit (same tensors, same sum), and so
 * is its gradient. The weights are computed in double from detached values ({@link SentenceWeights})
 * and enter the graph as constants; with the policy as the perplexity source the weights depend
 * on the policy only through that detached path.
 *
 * <p>Under {@code reward-ratio} the margin's value is DPO's and only the gradient is redistributed.
 * The weighted sum {@code y} carries the gradient; a constant {@code c = z_DPO - y} (both float,
 * values only) is added, so the reward is {@code y + c}: DPO's value to the last bit whenever
 * {@code c} is exact (the two sums agree to within a factor 2, as they do up to rounding).
 */
public final class PreferenceLoss {
    private PreferenceLoss() {}

    /** The mean loss over {@code pairs} and the per-record details. */
    public static LossResult compute(LossConfig config, List<PreferencePair> pairs) {
        if (pairs.isEmpty()) throw new IllegalArgumentException("preference loss: no records");
        List<Tensor> losses = new ArrayList<>(pairs.size());
        List<LossResult.PairResult> results = new ArrayList<>(pairs.size());
        float beta = (float) config.beta();
        for (int p = 0; p < pairs.size(); p++) {
            PreferencePair pair = pairs.get(p);
            Side c = side(config, pair.chosen(), p, "chosen", config.weightsChosen(), false);
            Side r = side(config, pair.rejected(), p, "rejected", config.weightsRejected(), true);
            Tensor rc = Arithmetic.scale(c.z, beta), rr = Arithmetic.scale(r.z, beta);
            Tensor loss;
            if (config.objective() == LossConfig.Objective.SIGMOID) {
                Tensor d = Arithmetic.sub(rr, rc);   // -(r_c - r_r): -logsigmoid(m) = softplus(-m)
                loss = Unary.softplus(d);
                double ls = config.labelSmoothing();
                if (ls > 0) {
                    loss = Arithmetic.add(Arithmetic.scale(loss, (float) (1 - ls)),
                            Arithmetic.scale(Unary.softplus(Unary.neg(d)), (float) ls));
                }
            } else {
                loss = Unary.square(Arithmetic.addScalar(Arithmetic.sub(c.z, r.z), (float) (-1 / (2 * config.beta()))));
            }
            losses.add(loss);
            // the rewards reported: beta times the summed log-ratios, also under ipo (whose loss uses
            // the per-token averages), as TRL logs rewards/* (float32, as its beta * logratios)
            float reportedC = config.objective() == LossConfig.Objective.IPO ? beta * c.zSum : rc.item();
            float reportedR = config.objective() == LossConfig.Objective.IPO ? beta * r.zSum : rr.item();
            results.add(new LossResult.PairResult(loss.item(), reportedC, reportedR, c.policyLogps, r.policyLogps,
                    c.weights, r.weights));
        }
        Tensor mean = Reductions.mean(losses.size() == 1 ? losses.get(0) : Shapes.concat(0, losses.toArray(new Tensor[0])));
        return new LossResult(config, mean, results);
    }

    /**
     * One response: its reward before beta as the loss uses it ({@code z}, shape [1], with the graph;
     * divided by the token count under ipo), the same before that division ({@code zSum}), its
     * weights, its policy log-prob sum.
     */
    private record Side(Tensor z, float zSum, ResponseWeights weights, double policyLogps) {}

    private static Side side(LossConfig config, ResponseLogps x, int record, String which, boolean weighted, boolean inverse) {
        String where = "record " + record + ", " + which;
        Tensor policy = x.policy(), ref = x.ref();
        if (policy == null || ref == null) throw new IllegalArgumentException(where + ": policy and reference log-probs are required");
        if (policy.rank() != 1 || ref.rank() != 1 || policy.numel() != ref.numel()) {
            throw new IllegalArgumentException(where + ": policy and reference log-probs must be 1-D of the same length, got "
                    + Arrays.toString(policy.shape()) + " and " + Arrays.toString(ref.shape()));
        }
        int n = policy.numel();
        int[] ids = x.sentenceIds() == null ? new int[n] : x.sentenceIds();
        if (ids.length != n) {
            throw new IllegalArgumentException(where + ": " + ids.length + " sentence ids for " + n + " tokens");
        }
        int k = SentenceIds.count(ids, where);
        if (k == 0) throw new IllegalArgumentException(where + ": the response has no tokens");
        float[] policyValues = policy.toFloatArray(), refValues = ref.toFloatArray();
        for (int t = 0; t < n; t++) {
            if (!Float.isFinite(policyValues[t]) || !Float.isFinite(refValues[t])) {
                throw new IllegalArgumentException(where + ": token " + t + " has a non-finite log-prob (policy "
                        + policyValues[t] + ", reference " + refValues[t] + ")");
            }
        }

        float[] mask = new float[n];
        int responseTokens = 0;
        double policyLogps = 0;
        for (int t = 0; t < n; t++) {
            if (ids[t] >= 0) {
                mask[t] = 1f;
                responseTokens++;
                policyLogps += policyValues[t];
            }
        }
        Backend be = policy.backend();
        Tensor diff = Arithmetic.sub(policy, ref);
        ResponseWeights weights = null;
        float[] perToken = mask;
        if (weighted) {
            weights = weigh(config, x, ids, k, diff, where, inverse);
            perToken = new float[n];
            for (int t = 0; t < n; t++) perToken[t] = ids[t] >= 0 ? (float) weights.omega()[ids[t]] : 0f;
        }
        Tensor z = Reductions.sum(Arithmetic.mul(diff, Tensor.of(be.upload(perToken), n)));
        if (weighted && config.normalization() == LossConfig.Normalization.REWARD_RATIO && !weights.fallback()) {
            float plain;
            try (var g = Autograd.noGrad()) {
                plain = Reductions.sum(Arithmetic.mul(diff, Tensor.of(be.upload(mask), n))).item();
            }
            z = Arithmetic.addScalar(z, plain - z.item());   // DPO's value, the weighted sum's gradient
        }
        float zSum = z.item();
        if (config.objective() == LossConfig.Objective.IPO) z = Arithmetic.scale(z, 1f / responseTokens);   // TRL: mean log-probs
        return new Side(z, zSum, weights, policyLogps);
    }

    private static ResponseWeights weigh(LossConfig config, ResponseLogps x, int[] ids, int k, Tensor diff, String where,
                                         boolean inverse) {
        boolean oracle = config.weightSource() == LossConfig.WeightSource.ORACLE;
        double[] similarity = x.similarity();
        if (oracle) {
            double[] o = x.oracle();
            if (o == null || o.length != k) {
                throw new IllegalArgumentException(where + ": oracle weights need one value per sentence (" + k + "), got "
                        + (o == null ? "none" : o.length));
            }
            for (int i = 0; i < k; i++) {
                if (!(o[i] >= 0 && o[i] <= 1)) {
                    throw new IllegalArgumentException(where + ": oracle weight " + i + " is " + o[i] + ", not in [0, 1]");
                }
            }
        } else if (similarity == null ? config.alpha() > 0 : similarity.length != k) {
            throw new IllegalArgumentException(where + ": similarities need one value per sentence (" + k + "), got "
                    + (similarity == null ? "none" : similarity.length));
        }
        if (similarity != null) {
            for (int i = 0; i < similarity.length; i++) {
                if (!Double.isFinite(similarity[i])) {
                    throw new IllegalArgumentException(where + ": similarity " + i + " is " + similarity[i]);
                }
            }
        }
        Tensor src = config.perplexitySource() == LossConfig.PerplexitySource.POLICY ? x.policy() : x.ref();
        double[] logRatios, srcSums;
        try (var g = Autograd.noGrad()) {   // detached: the weights are constants for the gradient
            logRatios = toDouble(SegmentSum.sum(diff, ids, k).toFloatArray());
            srcSums = toDouble(SegmentSum.sum(src, ids, k).toFloatArray());
        }
        int[] counts = new int[k];
        for (int id : ids) if (id >= 0) counts[id]++;
        return SentenceWeights.compute(config, counts, logRatios, srcSums, similarity, x.oracle(), inverse, x.weightOrder());
    }

    private static double[] toDouble(float[] v) {
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) d[i] = v[i];
        return d;
    }
}
