package dev.aspo.method.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.aspo.method.data.Batch;
import dev.aspo.method.data.Sequence;
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

    @Test
    void chosenAnswersWithoutTokensAreRefused() {
        Sequence empty = new Sequence(new int[] {5}, 1, new int[0], List.of());
        Batch b = new Batch(List.of(empty, empty), 0);
        assertThrows(IllegalArgumentException.class, () -> ChosenNll.of(Tensor.of(new float[2], 2, 1), b));
    }
}
