package dev.aspo.method.study;

import java.util.ArrayList;
import java.util.List;
import org.apache.commons.math3.random.RandomGenerator;
import org.apache.commons.math3.random.Well19937c;
import org.apache.commons.math3.stat.descriptive.rank.Percentile;

/**
 * A method against a baseline (DPO) on the same seeds and the same held-out scenes: the paired
 * difference of a ratio metric, its 95% interval from a hierarchical bootstrap and a two-sided
 * p-value from a permutation test.
 *
 * <pre>
 *   per seed s, per scene j:  numerator and denominator of the metric, for the method (a) and the baseline (b)
 *                             (CHAIR_i: hallucinated mentions / mentions; CHAIR_s: any hallucination / 1; ...)
 *   d_s = sum_j a.num / sum_j a.den - sum_j b.num / sum_j b.den        the seed's difference on its scenes
 *   d   = mean_s d_s                                                   the reported difference
 *   interval: resample seeds, then within each drawn seed its scenes (both methods on the same
 *             drawn scenes), recompute d; the 2.5% and 97.5% percentiles (MultiBERTs' multi-bootstrap)
 *   p-value:  under "no difference" a and b are exchangeable on every scene: swap them scene by scene
 *             at random, recompute d; p = (1 + #{|d*| >= |d|}) / (1 + N)
 * </pre>
 *
 * The permutation test conditions on the seeds and treats scenes as the units, so it can reach
 * significance with few seeds (a Wilcoxon test over 5 seeds cannot go below p = 0.0625); the
 * bootstrap interval also carries the seed-to-seed spread. {@code seedsBetter} counts the seeds
 * whose own difference favours the method.
 */
public final class PairedStatistics {
    /** One seed's per-scene numerators and denominators of one metric for one method. */
    public record Units(double[] num, double[] den) {
        public Units {
            if (num.length != den.length) throw new IllegalArgumentException(num.length + " numerators for " + den.length + " denominators");
        }

        double ratio(int[] scenes) {
            double a = 0, b = 0;
            for (int j : scenes) {
                a += num[j];
                b += den[j];
            }
            return b == 0 ? 0 : a / b;
        }
    }

    /** The comparison's numbers; {@code mean} is method minus baseline. */
    public record Result(double mean, double ciLow, double ciHigh, double pValue, int seedsBetter) {}

    private final int resamples;
    private final long seed;

    /** {@code resamples} bootstrap draws and as many permutations, from random seed {@code seed}. */
    public PairedStatistics(int resamples, long seed) {
        if (resamples < 100) throw new IllegalArgumentException("need at least 100 resamples, got " + resamples);
        this.resamples = resamples;
        this.seed = seed;
    }

    /**
     * Per seed, half the width of the 95% bootstrap interval of the method's difference from the
     * baseline on that seed's scenes alone (scenes resampled, both methods on the same draw): how
     * precisely one seed's held-out scenes measure the difference, which sets how many scenes a
     * study needs.
     */
    public double[] seedHalfWidths(List<Units> method, List<Units> baseline) {
        if (method.size() != baseline.size()) throw new IllegalArgumentException("need the same seeds for both, got " + method.size() + " and " + baseline.size());
        RandomGenerator rng = new Well19937c(seed + 1);
        double[] out = new double[method.size()];
        for (int s = 0; s < out.length; s++) {
            int n = method.get(s).num().length;
            if (baseline.get(s).num().length != n) throw new IllegalArgumentException("seed " + (s + 1) + ": the methods were judged on different scenes");
            double[] boot = new double[resamples];
            int[] drawn = new int[n];
            for (int r = 0; r < resamples; r++) {
                for (int j = 0; j < n; j++) drawn[j] = rng.nextInt(n);
                boot[r] = method.get(s).ratio(drawn) - baseline.get(s).ratio(drawn);
            }
            Percentile pct = new Percentile();
            pct.setData(boot);
            out[s] = (pct.evaluate(97.5) - pct.evaluate(2.5)) / 2;
        }
        return out;
    }

    /**
     * @param method        per seed the method's units
     * @param baseline      per seed the baseline's units on the same scenes
     * @param lowerIsBetter whether a negative difference favours the method (CHAIR, attribute errors)
     */
    public Result compare(List<Units> method, List<Units> baseline, boolean lowerIsBetter) {
        int seeds = method.size();
        if (seeds == 0 || baseline.size() != seeds) {
            throw new IllegalArgumentException("need the same seeds for both, got " + seeds + " and " + baseline.size());
        }
        List<int[]> all = new ArrayList<>();
        for (int s = 0; s < seeds; s++) {
            int n = method.get(s).num().length;
            if (baseline.get(s).num().length != n) throw new IllegalArgumentException("seed " + (s + 1) + ": the methods were judged on different scenes");
            if (n == 0) throw new IllegalArgumentException("seed " + (s + 1) + " has no scenes");
            int[] idx = new int[n];
            for (int j = 0; j < n; j++) idx[j] = j;
            all.add(idx);
        }
        double observed = 0;
        int better = 0;
        for (int s = 0; s < seeds; s++) {
            double d = method.get(s).ratio(all.get(s)) - baseline.get(s).ratio(all.get(s));
            observed += d / seeds;
            if (lowerIsBetter ? d < 0 : d > 0) better++;
        }

        RandomGenerator rng = new Well19937c(seed);
        double[] boot = new double[resamples];
        for (int r = 0; r < resamples; r++) {
            double sum = 0;
            for (int k = 0; k < seeds; k++) {
                int s = rng.nextInt(seeds);
                int n = all.get(s).length;
                int[] drawn = new int[n];
                for (int j = 0; j < n; j++) drawn[j] = rng.nextInt(n);
                sum += method.get(s).ratio(drawn) - baseline.get(s).ratio(drawn);
            }
            boot[r] = sum / seeds;
        }
        Percentile pct = new Percentile();
        pct.setData(boot);
        double low = pct.evaluate(2.5), high = pct.evaluate(97.5);

        int extreme = 0;
        for (int r = 0; r < resamples; r++) {
            double sum = 0;
            for (int s = 0; s < seeds; s++) {
                Units a = method.get(s), b = baseline.get(s);
                double an = 0, ad = 0, bn = 0, bd = 0;
                for (int j = 0; j < a.num().length; j++) {
                    if (rng.nextBoolean()) {
                        an += b.num()[j];
                        ad += b.den()[j];
                        bn += a.num()[j];
                        bd += a.den()[j];
                    } else {
                        an += a.num()[j];
                        ad += a.den()[j];
                        bn += b.num()[j];
                        bd += b.den()[j];
                    }
                }
                sum += (ad == 0 ? 0 : an / ad) - (bd == 0 ? 0 : bn / bd);
            }
            if (Math.abs(sum / seeds) >= Math.abs(observed) - 1e-12) extreme++;
        }
        return new Result(observed, low, high, (1.0 + extreme) / (1.0 + resamples), better);
    }

    /**
     * Holm's step-down adjustment of {@code p} for testing them as one family (Holm 1979): with the
     * p-values sorted ascending, {@code p_(i)} becomes {@code max over j <= i of min(1, (m - j + 1) p_(j))}.
     * It controls the chance of any false discovery in the family at the level compared with, with no
     * assumption about how the tests depend on each other (a table's comparisons share DPO's answers).
     * Returned in {@code p}'s order.
     */
    public static double[] holm(double[] p) {
        int m = p.length;
        Integer[] order = new Integer[m];
        for (int i = 0; i < m; i++) {
            if (!(p[i] >= 0 && p[i] <= 1)) throw new IllegalArgumentException("p-value " + i + " is " + p[i] + ", not in [0, 1]");
            order[i] = i;
        }
        java.util.Arrays.sort(order, (x, y) -> Double.compare(p[x], p[y]));
        double[] adjusted = new double[m];
        double running = 0;
        for (int rank = 0; rank < m; rank++) {
            running = Math.max(running, Math.min(1, (m - rank) * p[order[rank]]));
            adjusted[order[rank]] = running;
        }
        return adjusted;
    }
}
