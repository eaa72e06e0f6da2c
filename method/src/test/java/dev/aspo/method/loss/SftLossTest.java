package dev.aspo.method.loss;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.aspo.tensor.GradCheck;
import dev.aspo.tensor.Tensor;
import java.util.Random;
import org.junit.jupiter.api.Test;

class SftLossTest {
    private static final int T = 6, V = 7;
    private static final int[] TARGETS = {3, -100, 0, 6, -1, 2};

    /** log softmax(row)[target] in double, 0 for an ignored row. */
    private static double[] logps(double[] logits) {
        double[] out = new double[T];
        for (int t = 0; t < T; t++) {
            if (TARGETS[t] < 0) continue;
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (int v = 0; v < V; v++) max = Math.max(max, logits[t * V + v]);
            for (int v = 0; v < V; v++) sum += Math.exp(logits[t * V + v] - max);
            out[t] = logits[t * V + TARGETS[t]] - max - Math.log(sum);
        }
        return out;
    }

    @Test
    void tokenLogProbsAreLogSoftmaxAtTheTargetWithGradients() {
        Tensor logits = GradCheck.param(new Random(1), T, V);
        GradCheck.check("token log-probs", in -> TokenLogProbs.of(in[0], TARGETS), x -> logps(x[0]), logits);
    }

    @Test
    void sftLossIsTheMeanNegativeLogProbOverResponseTokens() {
        Tensor logits = GradCheck.param(new Random(2), T, V);
        GradCheck.check("sft loss", in -> SftLoss.loss(in[0], TARGETS), x -> {
            double[] lp = logps(x[0]);
            double sum = 0;
            int kept = 0;
            for (int t = 0; t < T; t++) {
                if (TARGETS[t] >= 0) {
                    sum -= lp[t];
                    kept++;
                }
            }
            return new double[] {sum / kept};
        }, logits);
    }

    @Test
    void shiftedTargetsPredictTheNextResponseToken() {
        int[] tokens = {10, 11, 12, 13, 14};
        int x = SftLoss.IGNORE;
        assertArrayEquals(new int[] {x, x, 13, 14, x}, SftLoss.shiftedTargets(tokens, 3));
        assertArrayEquals(new int[] {11, 12, 13, 14, x}, SftLoss.shiftedTargets(tokens, 0));
        assertArrayEquals(new int[] {x, x, x, x, x}, SftLoss.shiftedTargets(tokens, 5));
        assertThrows(IllegalArgumentException.class, () -> SftLoss.shiftedTargets(tokens, 6));
    }
}
