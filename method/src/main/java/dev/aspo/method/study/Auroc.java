package dev.aspo.method.study;

import java.util.Arrays;
import java.util.Comparator;

/**
 * The area under the ROC curve of {@code score} for telling positives from negatives: the chance
 * that a random positive scores above a random negative, ties counting one half (the Mann-Whitney
 * statistic, computed from average ranks).
 */
public final class Auroc {
    private Auroc() {}

    /** NaN when there are no positives or no negatives. */
    public static double of(double[] score, boolean[] positive) {
        if (score.length != positive.length) throw new IllegalArgumentException(score.length + " scores for " + positive.length + " labels");
        int n = score.length;
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) order[i] = i;
        Arrays.sort(order, Comparator.comparingDouble(i -> score[i]));
        double rankSum = 0;
        long pos = 0;
        for (int i = 0; i < n; ) {
            int j = i;
            while (j + 1 < n && score[order[j + 1]] == score[order[i]]) j++;
            double rank = (i + j) / 2.0 + 1;   // average 1-based rank of the tie group
            for (int k = i; k <= j; k++) {
                if (positive[order[k]]) {
                    rankSum += rank;
                    pos++;
                }
            }
            i = j + 1;
        }
        long neg = n - pos;
        if (pos == 0 || neg == 0) return Double.NaN;
        return (rankSum - pos * (pos + 1) / 2.0) / ((double) pos * neg);
    }
}
