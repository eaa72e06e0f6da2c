package dev.aspo.method.study;

import java.util.List;
import org.apache.commons.math3.stat.ranking.NaNStrategy;
import org.apache.commons.math3.stat.ranking.NaturalRanking;
import org.apache.commons.math3.stat.ranking.TiesStrategy;

/**
 * The area under the ROC curve of {@code score} for telling positives from negatives: the chance
 * that a random positive scores above a random negative, ties counting one half. It is the
 * Mann-Whitney statistic of the positives, {@code U = R_pos - n_pos (n_pos + 1) / 2}, divided by
 * {@code n_pos n_neg}, from ranks with ties averaged (Commons Math's {@link NaturalRanking}).
 */
public final class Auroc {
    private Auroc() {}

    /** The same from lists, as scores and labels are collected one sentence at a time. */
    public static double of(List<Double> score, List<Boolean> positive) {
        if (score.size() != positive.size()) throw new IllegalArgumentException(score.size() + " scores for " + positive.size() + " labels");
        double[] s = new double[score.size()];
        boolean[] p = new boolean[positive.size()];
        for (int i = 0; i < s.length; i++) {
            s[i] = score.get(i);
            p[i] = positive.get(i);
        }
        return of(s, p);
    }

    /** NaN when there are no positives or no negatives; a NaN score is refused. */
    public static double of(double[] score, boolean[] positive) {
        if (score.length != positive.length) throw new IllegalArgumentException(score.length + " scores for " + positive.length + " labels");
        double[] ranks = new NaturalRanking(NaNStrategy.FAILED, TiesStrategy.AVERAGE).rank(score);
        double rankSum = 0;
        long pos = 0;
        for (int i = 0; i < ranks.length; i++) {
            if (positive[i]) {
                rankSum += ranks[i];
                pos++;
            }
        }
        long neg = score.length - pos;
        if (pos == 0 || neg == 0) return Double.NaN;
        return (rankSum - pos * (pos + 1) / 2.0) / ((double) pos * neg);
    }
}
