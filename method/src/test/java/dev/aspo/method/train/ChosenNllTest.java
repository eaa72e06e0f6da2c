package dev.aspo.method.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.aspo.method.data.Batch;
import dev.aspo.method.data.Sequence;
import dev.aspo.method.loss.LossResult;
import dev.aspo.method.loss.ResponseWeights;
import dev.aspo.tensor.Tensor;
import java.util.List;
import org.junit.jupiter.api.Test;

/** RPO's / TRL's NLL term: the mean NLL over every chosen response token of the batch, the rejected rows untouched. */
class ChosenNllTest {
    @Test
    void theMeanNllOfTheChosenTokensAndItsGradient() {
        // two pairs: chosen rows 0, 1 (3 and 2 response tokens after a 2-token prompt), rejected rows 2, 3
        Sequence c0 = new Sequence(new int[] {5, 6, 7, 8, 9}, 2, new int[] {0, 0, 1}, List.of("a", "b"));
        Sequence c1 = new Sequence(new int[] {5, 6, 7, 9}, 2, new int[] {0, 0}, List.of("a"));
        Sequence r = new Sequence(new int[] {5, 6, 8, 8, 8}, 2, new int[] {0, 0, 0}, List.of("c"));
        Batch b = new Batch(List.of(c0, c1, r, r), 0);
        assertEquals(5, b.seq);
        // per-token log-probs as TokenLogProbs gives them: 0 off target; row 0's targets sit at positions 1..3, row 1's at 1..2
        float[] v = {0, -1, -2, -3, 0, 0, -4, -5, 0, 0, 0, -7, -7, -7, 0, 0, -7, -7, -7, 0};
        Tensor lp = Tensor.of(v, 4, 5).requiresGrad(true);
        Tensor nll = ChosenNll.of(lp, b);
        assertEquals((1 + 2 + 3 + 4 + 5) / 5.0, nll.item(), 1e-6);
        nll.backward();
        float g = -1f / 5;
        assertArrayEquals(new float[] {g, g, g, g, g, g, g, g, g, g, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, lp.grad().toFloatArray(), 1e-7f);
    }

    /** The batch of the first test: chosen rows 0 (sentences 0, 0, 1) and 1 (sentence 0, 0), two rejected rows. */
    private static Batch twoPairs() {
        Sequence c0 = new Sequence(new int[] {5, 6, 7, 8, 9}, 2, new int[] {0, 0, 1}, List.of("a", "b"));
        Sequence c1 = new Sequence(new int[] {5, 6, 7, 9}, 2, new int[] {0, 0}, List.of("a"));
        Sequence r = new Sequence(new int[] {5, 6, 8, 8, 8}, 2, new int[] {0, 0, 0}, List.of("c"));
        return new Batch(List.of(c0, c1, r, r), 0);
    }

    private static final float[] LOG_PROBS = {0, -1, -2, -3, 0, 0, -4, -5, 0, 0, 0, -7, -7, -7, 0, 0, -7, -7, -7, 0};

    private static ResponseWeights omega(double... omega) {
        int k = omega.length;
        return new ResponseWeights(new int[k], new double[k], new double[k], new double[k], null, omega.clone(), omega, false);
    }

    private static LossResult lossWith(ResponseWeights chosen0, ResponseWeights chosen1) {
        return new LossResult(null, null, List.of(new LossResult.PairResult(0, 0, 0, 0, 0, chosen0, null),
                new LossResult.PairResult(0, 0, 0, 0, 0, chosen1, null)));
    }

    @Test
    void sentenceWeightingMultipliesEachChosenTokensNllByItsSentencesOmega() {
        // row 0: tokens -1, -2 in sentence 0 (omega 0.5), -3 in sentence 1 (omega 1.5); row 1 unweighted (DPO-like): 1 each
        Batch b = twoPairs();
        Tensor lp = Tensor.of(LOG_PROBS.clone(), 4, 5).requiresGrad(true);
        Tensor nll = ChosenNll.sentenceWeighted(lp, b, lossWith(omega(0.5, 1.5), null));
        assertEquals((0.5 * 1 + 0.5 * 2 + 1.5 * 3 + 4 + 5) / 5, nll.item(), 1e-6, "the same count of tokens divides");
        nll.backward();
        float a = -0.5f / 5, c = -1.5f / 5, o = -1f / 5;
        assertArrayEquals(new float[] {0, a, a, c, 0, 0, o, o, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, lp.grad().toFloatArray(), 1e-7f,
                "the weights are constants; prompt, padding and rejected positions get nothing");
    }

    @Test
    void aZeroWeightSentenceIsNotPulledUp() {
        Tensor lp = Tensor.of(LOG_PROBS.clone(), 4, 5).requiresGrad(true);
        ChosenNll.sentenceWeighted(lp, twoPairs(), lossWith(omega(1, 0), omega(1))).backward();
        assertEquals(0f, lp.grad().toFloatArray()[3], "the oracle mask's wrong sentence");
        assertEquals(-1f / 5, lp.grad().toFloatArray()[1], 1e-7f);
    }

    @Test
    void withoutWeightsOrWithOmegaOneItIsTheUniformTermBitForBit() {
        Batch b = twoPairs();
        Tensor lp = Tensor.of(LOG_PROBS.clone(), 4, 5);
        float uniform = ChosenNll.of(lp, b).item();
        assertEquals(uniform, ChosenNll.sentenceWeighted(lp, b, lossWith(null, null)).item(), 0f, "DPO");
        assertEquals(uniform, ChosenNll.sentenceWeighted(lp, b, lossWith(omega(1, 1), omega(1))).item(), 0f, "ASPO with every omega 1");
    }

    @Test
    void chosenAnswersWithoutTokensAreRefused() {
        Sequence empty = new Sequence(new int[] {5}, 1, new int[0], List.of());
        Batch b = new Batch(List.of(empty, empty), 0);
        assertThrows(IllegalArgumentException.class, () -> ChosenNll.of(Tensor.of(new float[2], 2, 1), b));
    }
}
