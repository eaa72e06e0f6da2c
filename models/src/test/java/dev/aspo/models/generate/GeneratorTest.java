package dev.aspo.models.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.aspo.models.llama.LlamaConfig;
import dev.aspo.models.llama.LlamaForCausalLM;
import dev.aspo.tensor.Autograd;
import dev.aspo.tensor.Tensor;
import java.util.List;
import org.junit.jupiter.api.Test;

class GeneratorTest {
    static final LlamaConfig CONFIG = LlamaConfig.builder().vocabSize(40).hiddenSize(16).intermediateSize(24)
            .numHiddenLayers(2).numAttentionHeads(4).numKeyValueHeads(2).initializerRange(0.3).build();
    static final LlamaForCausalLM MODEL = LlamaForCausalLM.random(CONFIG, 9);

    @Test
    void aLeftPaddedBatchDecodesAsEachPromptAlone() {
        List<int[]> prompts = List.of(new int[] {5, 6, 7, 8, 9, 10}, new int[] {11}, new int[] {12, 13, 14});
        Generator g = new Generator(MODEL, Sampler.greedy(), 7, new int[0], 0);
        List<int[]> batched = g.generate(prompts);
        for (int r = 0; r < prompts.size(); r++) {
            assertArrayEquals(g.generate(List.of(prompts.get(r))).get(0), batched.get(r), "row " + r);
            assertEquals(7, batched.get(r).length);
        }
    }

    @Test
    void greedyTokensAreTheArgmaxOfAFullForwardOverPromptPlusOutput() {
        int[] prompt = {3, 1, 4, 1, 5};
        int[] out = new Generator(MODEL, Sampler.greedy(), 6, new int[0], 0).generate(List.of(prompt)).get(0);
        int[] all = new int[prompt.length + out.length];
        System.arraycopy(prompt, 0, all, 0, prompt.length);
        System.arraycopy(out, 0, all, prompt.length, out.length);
        try (var g = Autograd.noGrad()) {
            float[] logits = MODEL.forward(all, 1, all.length, null).toFloatArray();
            for (int i = 0; i < out.length; i++) {
                assertEquals(out[i], Sampler.argmax(logits, (prompt.length - 1 + i) * CONFIG.vocabSize, CONFIG.vocabSize),
                        "token " + i);
            }
        }
    }

    @Test
    void stopsAtEosPerRowAndRecordsNoGraph() {
        int[] prompt = {2, 7, 1};
        int[] free = new Generator(MODEL, Sampler.greedy(), 8, new int[0], 0).generate(List.of(prompt)).get(0);
        int eos = free[2];
        int stop = 0;
        while (free[stop] != eos) stop++;
        List<int[]> out = new Generator(MODEL, Sampler.greedy(), 8, new int[] {39, eos}, 0)
                .generate(List.of(prompt, new int[] {eos == 4 ? 5 : 4}));
        assertArrayEquals(java.util.Arrays.copyOf(free, stop + 1), out.get(0));
        assertTrue(out.get(1).length <= 8);
        assertEquals(0, new Generator(MODEL, Sampler.greedy(), 0, null, 0).generate(List.of(prompt)).get(0).length);
        assertTrue(MODEL.model.embedTokens.weight.grad() == null, "no gradient bookkeeping");
    }

    @Test
    void samplingIsReproducibleFromTheSeedAndTopKOneIsGreedy() {
        List<int[]> prompts = List.of(new int[] {1, 2, 3}, new int[] {4});
        List<int[]> a = new Generator(MODEL, Sampler.sampling(1.2f, 0, 0.9f, 77), 10, null, 0).generate(prompts);
        List<int[]> b = new Generator(MODEL, Sampler.sampling(1.2f, 0, 0.9f, 77), 10, null, 0).generate(prompts);
        for (int r = 0; r < 2; r++) assertArrayEquals(a.get(r), b.get(r));
        List<int[]> k1 = new Generator(MODEL, Sampler.sampling(1f, 1, 1f, 5), 10, null, 0).generate(prompts);
        List<int[]> greedy = new Generator(MODEL, Sampler.greedy(), 10, null, 0).generate(prompts);
        for (int r = 0; r < 2; r++) assertArrayEquals(greedy.get(r), k1.get(r));
        List<int[]> hot = new Generator(MODEL, Sampler.sampling(5f, 0, 1f, 1), 10, null, 0).generate(prompts);
        assertFalse(java.util.Arrays.equals(hot.get(0), greedy.get(0)), "a hot sampler leaves the greedy path");
    }

    @Test
    void badPromptsAreRefused() {
        Generator g = new Generator(MODEL, Sampler.greedy(), 2, null, 0);
        assertThrows(IllegalArgumentException.class, () -> g.generate(List.of(new int[0])));
        Tensor embeds = MODEL.embed(new int[] {1, 2, 3, 4}, 2, 2);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> g.generateFromEmbeds(embeds, new float[] {1, 1, 1, 0}));
        assertTrue(e.getMessage().contains("left padding"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> g.generateFromEmbeds(embeds, new float[] {1, 1, 0, 0}));
        assertThrows(IllegalArgumentException.class, () -> new Generator(MODEL, Sampler.greedy(), 2, null, 40));
    }
}
