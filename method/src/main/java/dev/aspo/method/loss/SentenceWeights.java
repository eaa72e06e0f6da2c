package dev.aspo.method.loss;

import dev.aspo.opencl.PreferenceKernels;

/**
 * ASPO's sentence weights (docs/METHOD.md steps 3-7) in plain double arithmetic, one formula per method.
 *
 * <pre>
 *   sum log pi_src, n_i --&gt; PPL_i --&gt; P_i = -PPL_i --min-max--&gt; P'_i --+
 *                                                                       +--&gt; w_i = a S'_i + (1-a) P'_i
 *   similarities S_i -----------------------------min-max--&gt; S'_i ------+
 *   w_i, l_i --mean / reward-ratio--&gt; omega_i          (r_c* = beta sum_i omega_i l_i)
 * </pre>
 */
public final class SentenceWeights {
    /**
     * Below this range min-max normalisation gives zeros (one sentence, or all equal). The number is
     * the device kernels' ({@link PreferenceKernels}), so both paths use one copy.
     */
    public static final double DEGENERATE_RANGE = PreferenceKernels.DEGENERATE_RANGE;
    /** {@code reward-ratio} falls back to {@code mean} when {@code |R_c*|} is below this (the device's number too). */
    public static final double RATIO_EPSILON = PreferenceKernels.RATIO_EPSILON;

    private SentenceWeights() {}

    /** {@code X'_i = (X_i - min X) / (max X - min X)}, all 0 when {@code max X - min X < 1e-12}. */
    public static double[] minMax(double[] x) {
        double min = Double.POSITIVE_INFINITY, max = Double.NEGATIVE_INFINITY;
        for (double v : x) {
            min = Math.min(min, v);
            max = Math.max(max, v);
        }
        double[] out = new double[x.length];
        double range = max - min;
        if (!(range >= DEGENERATE_RANGE)) return out;
        for (int i = 0; i < x.length; i++) out[i] = (x[i] - min) / range;
        return out;
    }

    /** {@code PPL_i = exp(-logpSum_i / n_i)}. */
    public static double[] perplexities(double[] logpSums, int[] tokenCounts) {
        double[] ppl = new double[logpSums.length];
        for (int i = 0; i < ppl.length; i++) ppl[i] = Math.exp(-logpSums[i] / tokenCounts[i]);
        return ppl;
    }

    /**
     * {@code P'_i}: min-max of {@code P_i = -PPL_i}. When some perplexity overflows a double (a mean
     * log-prob below about -709) the same quantity is computed from the mean log-probs
     * {@code m_i} as {@code (1 - exp(m_min - m_i)) / (1 - exp(m_min - m_max))}, which cannot overflow.
     */
    public static double[] perplexityScores(double[] logpSums, int[] tokenCounts) {
        double[] ppl = perplexities(logpSums, tokenCounts);
        boolean finite = true;
        for (double p : ppl) finite &= Double.isFinite(p);
        if (finite) {
            double[] negated = new double[ppl.length];
            for (int i = 0; i < ppl.length; i++) negated[i] = -ppl[i];
            return minMax(negated);
        }
        double[] m = new double[ppl.length];
        double mMin = Double.POSITIVE_INFINITY, mMax = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < m.length; i++) {
            m[i] = logpSums[i] / tokenCounts[i];
            mMin = Math.min(mMin, m[i]);
            mMax = Math.max(mMax, m[i]);
        }
        double[] out = new double[m.length];
        if (mMax == mMin) return out;
        double denominator = -Math.expm1(mMin - mMax);
        for (int i = 0; i < m.length; i++) out[i] = -Math.expm1(mMin - m[i]) / denominator;
        return out;
    }

    /**
     * {@code w_i = alpha S'_i + (1 - alpha) P'_i}, clamped to [0, 1] (a convex combination of numbers
     * in [0, 1] can round one ulp past 1). {@code similarityScores} null counts as zeros (alpha 0).
     */
    public static double[] fuse(double alpha, double[] similarityScores, double[] perplexityScores) {
        double[] w = new double[perplexityScores.length];
        for (int i = 0; i < w.length; i++) {
            double s = similarityScores == null ? 0 : similarityScores[i];
            w[i] = Math.min(1, Math.max(0, alpha * s + (1 - alpha) * perplexityScores[i]));
        }
        return w;
    }

    /**
     * {@code mean}: {@code omega_i = (1 + w_i) K / sum_j (1 + w_j)}, mean 1. Equal weights give
     * exactly 1 (not 1 up to rounding), so ASPO with equal weights is DPO to the last bit.
     */
    public static double[] meanOmega(double[] w) {
        int k = w.length;
        double[] omega = new double[k];
        boolean equal = true;
        for (double v : w) equal &= v == w[0];
        if (equal) {
            java.util.Arrays.fill(omega, 1.0);
            return omega;
        }
        double total = 0;
        for (double v : w) total += 1 + v;
        for (int i = 0; i < k; i++) omega[i] = (1 + w[i]) * k / total;
        return omega;
    }

    /** Effective weights and whether {@code reward-ratio} fell back to {@code mean}. */
    public record Omega(double[] omega, boolean fallback) {}

    /**
     * {@code reward-ratio}: {@code omega_i = (R_c / R_c*) (1 + w_i)} with {@code R_c = sum_i l_i},
     * {@code R_c* = sum_i (1 + w_i) l_i}; falls back to {@link #meanOmega} when
     * {@code |R_c*| < 1e-6} or {@code sign(R_c) != sign(R_c*)} (so also when {@code R_c = 0}).
     */
    public static Omega rewardRatioOmega(double[] w, double[] l) {
        double r = 0, rStar = 0;
        for (int i = 0; i < w.length; i++) {
            r += l[i];
            rStar += (1 + w[i]) * l[i];
        }
        if (Math.abs(rStar) < RATIO_EPSILON || Math.signum(r) != Math.signum(rStar)) {
            return new Omega(meanOmega(w), true);
        }
        double ratio = r / rStar;
        double[] omega = new double[w.length];
        for (int i = 0; i < w.length; i++) omega[i] = ratio * (1 + w[i]);
        return new Omega(omega, false);
    }

    /** The same without a permutation of the weights. */
    public static ResponseWeights compute(LossConfig config, int[] tokenCounts, double[] logRatios, double[] srcLogpSums,
                                          double[] similarity, double[] oracle, boolean inverse) {
        return compute(config, tokenCounts, logRatios, srcLogpSums, similarity, oracle, inverse, null);
    }

    /** {@code out[i] = w[order[i]]}; {@code order} must be a permutation of {@code 0..K-1}. */
    static double[] permuted(double[] w, int[] order) {
        if (order.length != w.length) throw new IllegalArgumentException("weight order has " + order.length + " entries for " + w.length + " sentences");
        boolean[] seen = new boolean[w.length];
        double[] out = new double[w.length];
        for (int i = 0; i < w.length; i++) {
            if (order[i] < 0 || order[i] >= w.length || seen[order[i]]) {
                throw new IllegalArgumentException("weight order " + java.util.Arrays.toString(order) + " is not a permutation of 0.." + (w.length - 1));
            }
            seen[order[i]] = true;
            out[i] = w[order[i]];
        }
        return out;
    }

    /**
     * Every sentence quantity of one response from its detached sums.
     *
     * @param logRatios   {@code l_i}
     * @param srcLogpSums {@code sum_{t in s_i} log pi_src(t)}
     * @param similarity  {@code S_i} (null allowed when {@code alpha == 0} or with oracle weights)
     * @param oracle      ground-truth weights for {@link LossConfig.WeightSource#ORACLE}
     * @param inverse     the rejected response under {@code inverse}: {@code w_i = 1 - score_i}
     * @param order       null, or a permutation of the sentences: sentence {@code i} takes the weight of
     *                    sentence {@code order[i]} (the shuffled control: same weights, no information)
     */
    public static ResponseWeights compute(LossConfig config, int[] tokenCounts, double[] logRatios, double[] srcLogpSums,
                                          double[] similarity, double[] oracle, boolean inverse, int[] order) {
        double[] ppl = perplexities(srcLogpSums, tokenCounts);
        double[] pScores = perplexityScores(srcLogpSums, tokenCounts);
        double[] sScores = similarity == null ? null : minMax(similarity);
        double[] score = config.weightSource() == LossConfig.WeightSource.ORACLE ? oracle.clone()
                : fuse(config.alpha(), sScores, pScores);
        double[] w = new double[score.length];
        for (int i = 0; i < w.length; i++) w[i] = inverse ? 1 - score[i] : score[i];
        if (order != null) w = permuted(w, order);
        Omega omega = switch (config.normalization()) {
            case MEAN -> new Omega(meanOmega(w), false);
            case REWARD_RATIO -> rewardRatioOmega(w, logRatios);
            case NONE -> new Omega(w.clone(), false);
        };
        return new ResponseWeights(tokenCounts.clone(), logRatios.clone(), ppl, pScores, sScores, w, omega.omega(),
                omega.fallback());
    }
}
