package dev.aspo.models.llama;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.aspo.tensor.GradCheck;
import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.ops.Arithmetic;
import dev.aspo.tensor.ops.Reductions;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The two pieces that are not plain tensor ops: the padding-aware embedding and the shifted loss. */
class LlamaOpsTest {
    @Test
    void paddingRowGetsNoGradientFromTheLookup() {
        Random rng = new Random(3);
        LlamaEmbedding emb = new LlamaEmbedding(6, 4, 2);
        LlamaEmbedding negative = new LlamaEmbedding(6, 4, -4);
        assertEquals(2, negative.paddingIdx, "a negative padding_idx counts from the end, as torch");
        emb.copyFrom("weight", Tensor.randn(rng, 1f, 6, 4));
        int[] ids = {2, 0, 5, 2, 0, 1};
        Tensor out = emb.forward(ids, 2, 3);
        assertArrayEquals(new int[] {2, 3, 4}, out.shape());
        float[] w = emb.weight.toFloatArray(), y = out.toFloatArray();
        for (int i = 0; i < ids.length; i++) {
            for (int j = 0; j < 4; j++) assertEquals(w[ids[i] * 4 + j], y[i * 4 + j], "row " + i);
        }
        float[] cot = new float[24];
        for (int i = 0; i < cot.length; i++) cot[i] = (float) rng.nextGaussian();
        out.backward(Tensor.of(cot, 2, 3, 4));
        double[] expected = new double[24];
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] == 2) continue;
            for (int j = 0; j < 4; j++) expected[ids[i] * 4 + j] += cot[i * 4 + j];
        }
        float[] g = emb.weight.grad().toFloatArray();
        for (int i = 0; i < 24; i++) assertEquals(expected[i], g[i], 1e-6, "gradient " + i);
        assertThrows(IllegalArgumentException.class, () -> emb.forward(new int[] {6}, 1, 1));
    }

    @Test
    void causalLmLossShiftsLabelsWithinEachRow() {
        Random rng = new Random(4);
        int b = 2, t = 4, v = 5;
        int[] labels = {3, -100, 1, 4, 0, 2, 2, -100};
        Tensor logits = GradCheck.param(rng, b, t, v);
        GradCheck.check("causalLmLoss", in -> LlamaForCausalLM.causalLmLoss(in[0], labels), x -> {
            double sum = 0;
            int kept = 0;
            for (int r = 0; r < b; r++) {
                for (int i = 0; i + 1 < t; i++) {
                    int target = labels[r * t + i + 1];
                    if (target < 0) continue;
                    int o = (r * t + i) * v;
                    double max = Double.NEGATIVE_INFINITY, z = 0;
                    for (int c = 0; c < v; c++) max = Math.max(max, x[0][o + c]);
                    for (int c = 0; c < v; c++) z += Math.exp(x[0][o + c] - max);
                    sum += Math.log(z) + max - x[0][o + target];
                    kept++;
                }
            }
            return new double[] {sum / kept};
        }, logits);
    }

    @Test
    void allIgnoredLabelsGiveAZeroLoss() {
        Tensor logits = GradCheck.param(new Random(5), 1, 3, 4);
        Tensor loss = LlamaForCausalLM.causalLmLoss(logits, new int[] {7, -100, -100});
        assertEquals(0f, loss.item());
        Arithmetic.add(loss, Reductions.sum(logits)).backward();
        for (float g : logits.grad().toFloatArray()) assertEquals(1f, g);
        assertThrows(IllegalArgumentException.class, () -> LlamaForCausalLM.causalLmLoss(logits, new int[2]));
    }
}
