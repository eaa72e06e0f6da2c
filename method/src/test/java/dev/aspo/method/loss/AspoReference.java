package dev.aspo.method.loss;

/**
 * docs/METHOD.md in plain double arithmetic, written sentence by sentence from the text of the spec and
 * independently of the code under test (which weights tokens, works in float and corrects the
 * reward-ratio value). Tests compare the code against this.
 */
public final class AspoReference {
    private AspoReference() {}

    /** A response: per-token log-probs, sentence ids (-1 skips a token; null: one sentence), per-sentence inputs. */
    public record Resp(double[] policy, double[] ref, int[] ids, double[] sim, double[] oracle) {
        public int[] idsOrZeros() {
            return ids == null ? new int[policy.length] : ids;
        }

        public int sentences() {
            int k = 0;
            for (int id : idsOrZeros()) k = Math.max(k, id + 1);
            return k;
        }

        public int responseTokens() {
            int n = 0;
            for (int id : idsOrZeros()) if (id >= 0) n++;
            return n;
        }
    }

    public record Pair(Resp chosen, Resp rejected) {}

    public record Weights(double[] l, double[] ppl, double[] pScore, double[] sScore, double[] w, double[] omega, boolean fallback) {}

    public record Result(double loss, double rc, double rr, Weights chosen, Weights rejected) {}

    public static double[] minMax(double[] x) {
        double lo = x[0], hi = x[0];
        for (double v : x) {
            if (v < lo) lo = v;
            if (v > hi) hi = v;
        }
        double[] out = new double[x.length];
        if (hi - lo < 1e-12) return out;
        for (int i = 0; i < x.length; i++) out[i] = (x[i] - lo) / (hi - lo);
        return out;
    }

    public static Weights weights(LossConfig cfg, Resp x, boolean inverse) {
        int k = x.sentences();
        int[] ids = x.idsOrZeros();
        double[] l = new double[k], src = new double[k], n = new double[k];
        boolean fromPolicy = cfg.perplexitySource() == LossConfig.PerplexitySource.POLICY;
        for (int t = 0; t < ids.length; t++) {
            if (ids[t] < 0) continue;
            l[ids[t]] += x.policy()[t] - x.ref()[t];
            src[ids[t]] += fromPolicy ? x.policy()[t] : x.ref()[t];
            n[ids[t]] += 1;
        }
        double[] ppl = new double[k], p = new double[k];
        for (int i = 0; i < k; i++) {
            ppl[i] = Math.exp(-(1 / n[i]) * src[i]);
            p[i] = -ppl[i];
        }
        double[] pScore = minMax(p);
        double[] sScore = x.sim() == null ? null : minMax(x.sim());
        double[] w = new double[k];
        for (int i = 0; i < k; i++) {
            double score = cfg.weightSource() == LossConfig.WeightSource.ORACLE ? x.oracle()[i]
                    : cfg.alpha() * (sScore == null ? 0 : sScore[i]) + (1 - cfg.alpha()) * pScore[i];
            w[i] = inverse ? 1 - score : score;
        }
        double[] omega = new double[k];
        boolean fallback = false;
        double total = 0;
        for (double v : w) total += 1 + v;
        if (cfg.normalization() == LossConfig.Normalization.REWARD_RATIO) {
            double r = 0, rStar = 0;
            for (int i = 0; i < k; i++) {
                r += l[i];
                rStar += (1 + w[i]) * l[i];
            }
            fallback = Math.abs(rStar) < 1e-6 || Math.signum(r) != Math.signum(rStar);
            if (!fallback) {
                for (int i = 0; i < k; i++) omega[i] = r / rStar * (1 + w[i]);
                return new Weights(l, ppl, pScore, sScore, w, omega, false);
            }
        }
        for (int i = 0; i < k; i++) omega[i] = (1 + w[i]) * k / total;
        return new Weights(l, ppl, pScore, sScore, w, omega, fallback);
    }

    /** The reward reported: beta * sum_i omega_i l_i (omega null: plain DPO), summed also for IPO (as TRL logs it). */
    public static double reward(LossConfig cfg, Resp x, double[] omega) {
        return cfg.beta() * weightedSum(x, omega);
    }

    /** The reward inside the loss: {@link #reward}, over the response's token count for IPO. */
    public static double lossReward(LossConfig cfg, Resp x, double[] omega) {
        double z = weightedSum(x, omega);
        if (cfg.objective() == LossConfig.Objective.IPO) z /= x.responseTokens();
        return cfg.beta() * z;
    }

    private static double weightedSum(Resp x, double[] omega) {
        int[] ids = x.idsOrZeros();
        double z = 0;
        if (omega == null) {
            for (int t = 0; t < ids.length; t++) if (ids[t] >= 0) z += x.policy()[t] - x.ref()[t];
        } else {
            double[] l = new double[omega.length];
            for (int t = 0; t < ids.length; t++) if (ids[t] >= 0) l[ids[t]] += x.policy()[t] - x.ref()[t];
            for (int i = 0; i < l.length; i++) z += omega[i] * l[i];
        }
        return z;
    }

    public static double softplus(double x) {
        return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
    }

    public static double pairLoss(LossConfig cfg, double rc, double rr) {
        if (cfg.objective() == LossConfig.Objective.IPO) {
            double h = (rc - rr) / cfg.beta() - 1 / (2 * cfg.beta());
            return h * h;
        }
        double ls = cfg.labelSmoothing();
        return (1 - ls) * softplus(rr - rc) + ls * softplus(rc - rr);
    }

    public static Result pair(LossConfig cfg, Pair p) {
        Weights wc = cfg.weightsChosen() ? weights(cfg, p.chosen(), false) : null;
        Weights wr = cfg.weightsRejected() ? weights(cfg, p.rejected(), true) : null;
        double[] oc = wc == null ? null : wc.omega(), or = wr == null ? null : wr.omega();
        return new Result(pairLoss(cfg, lossReward(cfg, p.chosen(), oc), lossReward(cfg, p.rejected(), or)),
                reward(cfg, p.chosen(), oc), reward(cfg, p.rejected(), or), wc, wr);
    }

    /** The mean loss with the effective weights held at {@code omegaC}, {@code omegaR} (null entries: DPO). */
    public static double meanLossFixedWeights(LossConfig cfg, Pair[] pairs, double[][] omegaC, double[][] omegaR) {
        double sum = 0;
        for (int b = 0; b < pairs.length; b++) {
            double rc = lossReward(cfg, pairs[b].chosen(), omegaC[b]);
            double rr = lossReward(cfg, pairs[b].rejected(), omegaR[b]);
            sum += pairLoss(cfg, rc, rr);
        }
        return sum / pairs.length;
    }
}
