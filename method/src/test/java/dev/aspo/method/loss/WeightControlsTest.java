package dev.aspo.method.loss;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.aspo.tensor.Tensor;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The study's controls on the chosen side's weights, as a specification:
 * <ul>
 *   <li>{@code normalization: none} uses the weights as they are, so oracle labels make a mask
 *       ({@code oracle_mask}): a wrong sentence leaves the chosen reward and gets no gradient;</li>
 *   <li>a weight order moves ASPO's own weights between the sentences of an answer before they are
 *       normalised ({@code aspo_shuffled}): the same weights, their information gone.</li>
 * </ul>
 */
class WeightControlsTest {
    /** Chosen: three sentences of 2, 1 and 2 tokens after one prompt token; rejected: one sentence of 2 tokens. */
    private static final int[] CHOSEN_IDS = {-1, 0, 0, 1, 2, 2};
    private static final float[] CHOSEN_POLICY = {-9f, -1.0f, -0.5f, -2.0f, -0.25f, -0.75f};
    private static final float[] CHOSEN_REF = {-9f, -1.5f, -0.5f, -1.0f, -0.5f, -0.5f};
    // l_0 = 0.5 + 0 = 0.5, l_1 = -1.0, l_2 = 0.25 - 0.25 = 0
    private static final float[] REJECTED_POLICY = {-2f, -3f}, REJECTED_REF = {-1f, -1f};   // sum of l = -3

    private static LossResult run(LossConfig cfg, Tensor chosenPolicy, double[] similarity, double[] oracle, int[] order) {
        PreferencePair pair = new PreferencePair(
                new ResponseLogps(chosenPolicy, Tensor.of(CHOSEN_REF.clone(), 6), CHOSEN_IDS, similarity, oracle, order),
                ResponseLogps.whole(Tensor.of(REJECTED_POLICY.clone(), 2), Tensor.of(REJECTED_REF.clone(), 2)));
        LossResult r = PreferenceLoss.compute(cfg, List.of(pair));
        r.loss().backward();
        return r;
    }

    @Test
    void oracleLabelsWithoutNormalisationMaskTheWrongSentence() {
        LossConfig mask = LossConfig.aspo().withWeightSource(LossConfig.WeightSource.ORACLE)
                .withNormalization(LossConfig.Normalization.NONE);
        Tensor policy = Tensor.of(CHOSEN_POLICY.clone(), 6).requiresGrad(true);
        LossResult r = run(mask, policy, null, new double[] {1, 0, 1}, null);
        // r_c = beta (1 * 0.5 + 0 * -1.0 + 1 * 0) = 0.05; r_r = beta * -3 = -0.3; loss = -log sigmoid(0.35)
        assertEquals(0.05f, r.pairs().get(0).rewardChosen(), 1e-7);
        assertEquals(-0.3f, r.pairs().get(0).rewardRejected(), 1e-7);
        assertEquals(Math.log1p(Math.exp(-0.35)), r.loss().item(), 1e-6);
        assertArrayEquals(new double[] {1, 0, 1}, r.pairs().get(0).chosen().omega(), 0);
        // d loss / d lp_t = -beta sigmoid(-0.35) omega_{s(t)}: nothing for the prompt and the wrong sentence
        float g = (float) (-0.1 / (1 + Math.exp(0.35)));
        assertArrayEquals(new float[] {0, g, g, 0, g, g}, policy.grad().toFloatArray(), 1e-7f);
    }

    @Test
    void underNormalisationNoneTheAdaptiveWeightsAreTheOmegas() {
        LossConfig none = LossConfig.aspo().withNormalization(LossConfig.Normalization.NONE);
        LossResult r = run(none, Tensor.of(CHOSEN_POLICY.clone(), 6).requiresGrad(true), new double[] {0.1, 0.9, 0.5}, null, null);
        ResponseWeights w = r.pairs().get(0).chosen();
        assertArrayEquals(w.weights(), w.omega(), 0);
        assertFalse(w.fallback());
    }

    @Test
    void aWeightOrderMovesTheWeightsBeforeTheyAreNormalised() {
        double[] sim = {0.1, 0.9, 0.5};
        int[] order = {2, 0, 1};
        LossResult plain = run(LossConfig.aspo(), Tensor.of(CHOSEN_POLICY.clone(), 6).requiresGrad(true), sim, null, null);
        Tensor shuffledPolicy = Tensor.of(CHOSEN_POLICY.clone(), 6).requiresGrad(true);
        LossResult shuffled = run(LossConfig.aspo(), shuffledPolicy, sim, null, order);
        double[] w = plain.pairs().get(0).chosen().weights();
        double[] moved = {w[2], w[0], w[1]};
        assertArrayEquals(moved, shuffled.pairs().get(0).chosen().weights(), 0);
        assertArrayEquals(SentenceWeights.meanOmega(moved), shuffled.pairs().get(0).chosen().omega(), 0);
        // the same as handing the moved weights over as given ones: the loss and its gradient agree
        Tensor givenPolicy = Tensor.of(CHOSEN_POLICY.clone(), 6).requiresGrad(true);
        LossResult given = run(LossConfig.aspo().withWeightSource(LossConfig.WeightSource.ORACLE), givenPolicy, null, moved, null);
        assertEquals(given.loss().item(), shuffled.loss().item(), 0);
        assertArrayEquals(givenPolicy.grad().toFloatArray(), shuffledPolicy.grad().toFloatArray(), 0);
    }

    @Test
    void anOrderThatIsNotAPermutationIsRefused() {
        for (int[] bad : new int[][] {{0, 0, 1}, {0, 1}, {0, 1, 3}}) {
            assertThrows(IllegalArgumentException.class,
                    () -> run(LossConfig.aspo(), Tensor.of(CHOSEN_POLICY.clone(), 6).requiresGrad(true), new double[] {0.1, 0.9, 0.5}, null, bad));
        }
    }
}
