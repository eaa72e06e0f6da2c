package dev.aspo.method.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.aspo.method.data.Sequence;
import dev.aspo.models.llava.LlavaConfig;
import dev.aspo.tensor.Precision;
import dev.aspo.tensor.Tensor;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The ASPO LoRA step of {@code aspo bench aspo-lora}, on the tiny shape: it trains the adapters and
 * nothing else, its numbers are finite, micro-batches accumulate the step's gradient, and the sizes
 * it plans with are the model's.
 */
class AspoLoraBenchTest {
    private static AspoLoraBench bench(int pairs, long seed) {
        return bench(pairs, seed, 0.05);
    }

    private static AspoLoraBench bench(int pairs, long seed, double dropout) {
        return new AspoLoraBench(new AspoLoraBench.Settings(BenchShape.TINY, null, null, pairs, 4, 8, dropout, Precision.BFLOAT16, true,
                1e-2, seed));
    }

    private static Map<String, float[]> values(Map<String, Tensor> params) {
        Map<String, float[]> out = new HashMap<>();
        params.forEach((k, v) -> out.put(k, v.toFloatArray()));
        return out;
    }

    @Test
    void aStepChangesTheAdaptersOnlyAndItsNumbersAreFinite() {
        AspoLoraBench b = bench(2, 11);
        b.build();
        b.attachAdapters();
        Map<String, float[]> base = values(b.model.namedParameters()), adapters = values(b.lora.trainableParameters());
        b.referencePass();
        AspoLoraBench.StepResult r = b.step(1, 1, null);

        // lora_B starts at zero, so the policy is the reference and every pair's margin is 0: loss ln 2
        assertEquals(Math.log(2), r.loss(), 1e-6);
        assertTrue(Double.isFinite(r.gradNorm()) && r.gradNorm() > 0, "grad norm " + r.gradNorm());
        assertTrue(Float.isFinite(r.maxAbsLogit()) && r.maxAbsLogit() > 0, "max |logit| " + r.maxAbsLogit());
        assertEquals(2, r.microBatches(), "a micro-batch per pair");
        for (var p : r.pairs()) assertEquals(0, p.rewardChosen() - p.rewardRejected(), 1e-6, "no margin before training");
        b.model.namedParameters().forEach((k, v) -> assertArrayEquals(base.get(k), v.toFloatArray(), k + " is frozen"));
        int changed = 0;
        for (var e : b.lora.trainableParameters().entrySet()) {
            boolean same = java.util.Arrays.equals(adapters.get(e.getKey()), e.getValue().toFloatArray());
            if (e.getKey().contains("lora_B")) {
                assertFalse(same, e.getKey() + " trained");
                changed++;
            }
        }
        assertEquals(2 * 7, changed, "2 decoder layers x 7 linear layers");
        assertTrue(b.lora.layers().keySet().stream().allMatch(k -> k.contains("language_model")), "no adapter outside the decoder: "
                + b.lora.layers().keySet());

        AspoLoraBench.StepResult second = b.step(2, 1, null);
        assertTrue(second.loss() < r.loss(), "AdamW lowers the loss of its batch: " + r.loss() + " -> " + second.loss());
    }

    @Test
    void microBatchesAccumulateTheGradientOfTheWholeStep() {
        // no dropout: its masks are drawn per micro-batch, so they differ between the two splits
        AspoLoraBench whole = bench(2, 4, 0), halves = bench(2, 4, 0);
        for (AspoLoraBench b : new AspoLoraBench[] {whole, halves}) {
            b.build();
            b.attachAdapters();
            b.referencePass();
        }
        AspoLoraBench.StepResult a = whole.step(1, 2, null), c = halves.step(1, 1, null);
        assertEquals(1, a.microBatches());
        assertEquals(2, c.microBatches());
        for (int p = 0; p < 2; p++) assertEquals(a.pairs().get(p).loss(), c.pairs().get(p).loss(), 1e-6);
        assertEquals(a.loss(), c.loss(), 1e-6);
        assertEquals(a.gradNorm(), c.gradNorm(), 1e-5 * a.gradNorm());
        // a second step from the updated adapters, so that the pairs' margins (and losses) differ
        AspoLoraBench.StepResult a2 = whole.step(2, 2, null), c2 = halves.step(2, 1, null);
        assertEquals(a2.loss(), c2.loss(), 1e-5);
        assertEquals(a2.gradNorm(), c2.gradNorm(), 1e-4 * a2.gradNorm());
    }

    @Test
    void thePlannedSizesAreTheModelsAndLlava7bsAreTheKnownCounts() {
        AspoLoraBench b = bench(1, 1);
        b.build();
        b.attachAdapters();
        long matrices = 0, adapters = 0;
        for (Tensor t : b.model.namedParameters().values()) if (t.rank() >= 2) matrices += t.numel();
        for (Tensor t : b.lora.trainableParameters().values()) adapters += t.numel();
        assertEquals(matrices, AspoLoraBench.matrixElements(b.config));
        assertEquals(adapters, AspoLoraBench.adapterElements(b.config, 4));

        LlavaConfig c = BenchShape.LLAVA_1_5_7B.config(null, null);
        assertEquals(7_062_828_032L, AspoLoraBench.matrixElements(c), "docs/PERFORMANCE.md's count of LLaVA-1.5-7B's matrices");
        // per decoder layer: q, k, v, o 128 x (4096 + 4096); gate, up, down 128 x (4096 + 11008)
        assertEquals(32L * 128 * (4 * 8192 + 3 * 15104), AspoLoraBench.adapterElements(c, 128));
        assertEquals(576, c.featuresPerImage());
    }

    @Test
    void thePairsAreShapedAsLlavaTrainingData() {
        LlavaConfig c = BenchShape.LLAVA_1_5_7B.config(1, 1);
        SyntheticPairs p = new SyntheticPairs(c, BenchShape.LLAVA_1_5_7B, 2, 3);
        assertEquals(4, p.sequences.size());
        for (int k = 0; k < 4; k++) {
            Sequence s = p.sequences.get(k);
            int image = 0;
            for (int id : s.ids()) if (id == c.imageTokenIndex) image++;
            assertEquals(576, image);
            assertEquals(48 + 576, s.promptLength());
            assertTrue(Math.abs(s.ids().length - 700) <= 12, "about 700 tokens: " + s.ids().length);
            assertEquals(4, s.sentences().size());
            assertEquals(2, s.ids()[s.ids().length - 1], "ends with EOS");
            assertEquals(1, s.ids()[0], "starts with BOS");
            assertTrue(p.pixels.get(s).length == 3 * 336 * 336);
        }
        assertArrayEquals(p.sequences.get(0).ids(), p.sequences.get(0).ids());
        assertTrue(p.pixels.get(p.sequences.get(0)) == p.pixels.get(p.sequences.get(1)), "a pair's sides share its image");
        assertFalse(java.util.Arrays.equals(p.sequences.get(0).ids(), p.sequences.get(1).ids()), "chosen and rejected differ");
    }
}
