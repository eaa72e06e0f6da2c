package dev.aspo.models.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.aspo.models.llama.Fixtures;
import dev.aspo.models.llama.LlamaConfig;
import dev.aspo.models.llama.LlamaForCausalLM;
import dev.aspo.tensor.Autograd;
import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.ops.Shapes;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Decoding with the cache computes what a full forward over the whole sequence computes. */
class KvCacheTest {
    static final double TOL = 2e-5;

    @Test
    void chunkedForwardWithCacheEqualsFullForward() throws Exception {
        LlamaForCausalLM model = LlamaForCausalLM.load(Fixtures.dir("gqa_untied"));   // GQA, 2 layers
        int b = 2, t = 9;
        int[] ids = randomIds(new Random(1), b * t, model.config.vocabSize);
        try (var g = Autograd.noGrad()) {
            float[] full = model.forward(ids, b, t, null).toFloatArray();
            KvCache cache = new KvCache(model.numLayers());
            List<Tensor> parts = new ArrayList<>();
            int[][] chunks = {{0, 4}, {4, 6}, {6, 7}, {7, 8}, {8, 9}};   // prefill, a chunk, then single tokens
            for (int[] c : chunks) {
                int n = c[1] - c[0];
                int[] chunk = slice(ids, b, t, c[0], c[1]);
                parts.add(model.forwardEmbeds(model.embed(chunk, b, n), null, null, cache));
                assertEquals(c[1], cache.length());
            }
            float[] cached = Shapes.concat(1, parts.toArray(new Tensor[0])).toFloatArray();
            Fixtures.assertAbs("cached logits", full, cached, TOL);
            assertNull(cache.mask(), "no padding, no mask");
            assertArrayEquals(new int[] {b, t, model.config.numKeyValueHeads * model.config.headDim}, cache.keys(1).shape());
        }
    }

    @Test
    void leftPaddedCachedStepsEqualFullForwardWithTheSameMaskAndPositions() throws Exception {
        LlamaForCausalLM model = LlamaForCausalLM.load(Fixtures.dir("right_padding"));   // biases, theta 5e5
        int b = 2, t = 8, prompt = 5;
        int[] ids = randomIds(new Random(2), b * t, model.config.vocabSize);
        float[] mask = new float[b * t];
        int[] pos = new int[b * t];
        for (int r = 0; r < b; r++) {
            int pad = r == 0 ? 0 : 3;                 // row 1 is left-padded by 3
            for (int i = 0; i < t; i++) {
                mask[r * t + i] = i < pad ? 0 : 1;
                pos[r * t + i] = Math.max(0, i - pad);
            }
        }
        try (var g = Autograd.noGrad()) {
            float[] full = model.forwardEmbeds(model.embed(ids, b, t), mask, pos, null).toFloatArray();
            KvCache cache = new KvCache(model.numLayers());
            List<Tensor> parts = new ArrayList<>();
            parts.add(model.forwardEmbeds(model.embed(slice(ids, b, t, 0, prompt), b, prompt), slice(mask, b, t, 0, prompt),
                    slice(pos, b, t, 0, prompt), cache));
            for (int i = prompt; i < t; i++) {
                parts.add(model.forwardEmbeds(model.embed(slice(ids, b, t, i, i + 1), b, 1), null, slice(pos, b, t, i, i + 1),
                        cache));
            }
            float[] cached = Shapes.concat(1, parts.toArray(new Tensor[0])).toFloatArray();
            int v = model.config.vocabSize;
            for (int r = 0; r < b; r++) {             // padded query rows see no key: compare real tokens only
                for (int i = r == 0 ? 0 : 3; i < t; i++) {
                    int o = (r * t + i) * v;
                    Fixtures.assertAbs("row " + r + " token " + i, java.util.Arrays.copyOfRange(full, o, o + v),
                            java.util.Arrays.copyOfRange(cached, o, o + v), TOL);
                }
            }
            assertEquals(b * t, cache.mask().length);
        }
    }

    @Test
    void cacheRefusesMisuse() {
        LlamaConfig c = LlamaConfig.builder().vocabSize(16).hiddenSize(8).intermediateSize(8).numHiddenLayers(1)
                .numAttentionHeads(2).build();
        LlamaForCausalLM model = LlamaForCausalLM.random(c, 3);
        KvCache cache = new KvCache(1);
        try (var g = Autograd.noGrad()) {
            model.forwardEmbeds(model.embed(new int[] {1, 2, 3, 4}, 2, 2), null, null, cache);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> model.forwardEmbeds(model.embed(new int[] {1, 2, 3}, 3, 1), null, null, cache));
            assertEquals("KvCache: holds a batch of 2 rows, the forward has 3", e.getMessage());
            assertThrows(IllegalArgumentException.class,
                    () -> model.forwardEmbeds(model.embed(new int[] {1}, 1, 1), null, null, new KvCache(2)));
        }
    }

    static int[] randomIds(Random rng, int n, int vocab) {
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) ids[i] = rng.nextInt(vocab);
        return ids;
    }

    static int[] slice(int[] x, int b, int t, int from, int to) {
        int[] out = new int[b * (to - from)];
        for (int r = 0; r < b; r++) System.arraycopy(x, r * t + from, out, r * (to - from), to - from);
        return out;
    }

    static float[] slice(float[] x, int b, int t, int from, int to) {
        float[] out = new float[b * (to - from)];
        for (int r = 0; r < b; r++) System.arraycopy(x, r * t + from, out, r * (to - from), to - from);
        return out;
    }
}
