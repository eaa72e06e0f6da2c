package dev.aspo.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.aspo.models.clip.ClipActivation;
import dev.aspo.models.clip.ClipConfig;
import dev.aspo.models.clip.ClipModel;
import dev.aspo.models.clip.ClipTextConfig;
import dev.aspo.models.clip.ClipVisionConfig;
import dev.aspo.models.generate.Generator;
import dev.aspo.models.generate.Sampler;
import dev.aspo.models.llama.LlamaConfig;
import dev.aspo.models.llama.LlamaForCausalLM;
import dev.aspo.models.llava.LlavaConfig;
import dev.aspo.models.llava.LlavaForConditionalGeneration;
import dev.aspo.models.lora.LoraConfig;
import dev.aspo.models.lora.LoraModel;
import dev.aspo.models.lora.TargetModules;
import dev.aspo.models.nn.Dropout;
import dev.aspo.models.nn.Module;
import dev.aspo.tensor.Autograd;
import dev.aspo.tensor.BufferPool;
import dev.aspo.tensor.Checkpoint;
import dev.aspo.tensor.Tensor;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * Activation checkpointing in the models ({@code setGradientCheckpointing(true)}): Llama's decoder
 * layers, LLaVA's language model and vision tower, CLIP's two towers give the loss and every
 * gradient of the plain forward to the last bit, LoRA dropout included; the graph a forward keeps
 * is one node and one hidden state per layer; generation and forwards without gradients are not
 * affected.
 */
class GradientCheckpointingTest {
    private static LlamaConfig.Builder text(int layers) {
        return LlamaConfig.builder().vocabSize(50).hiddenSize(24).intermediateSize(36).numHiddenLayers(layers)
                .numAttentionHeads(6).numKeyValueHeads(2).ropeTheta(50000).rmsNormEps(1e-5).initializerRange(0.2);
    }

    private static LlamaForCausalLM llama(int layers) {
        return LlamaForCausalLM.random(text(layers).build(), 3);
    }

    private static LlavaForConditionalGeneration llava(LlavaConfig.Builder b) {
        return LlavaForConditionalGeneration.random(b.build(), 5);
    }

    private static LlavaConfig.Builder llavaConfig() {
        ClipVisionConfig v = ClipVisionConfig.of(24, 40, 3, 3, 32, 8, ClipActivation.QUICK_GELU);
        return LlavaConfig.builder(v, text(2).build()).imageTokenIndex(49);   // vision_feature_layer -2: tower layers 0 and 1
    }

    /** A batch of two rows, the second padded at its end, with labels on every kept position. */
    private record Batch(int[] ids, int batch, int seq, float[] mask, int[] labels, Tensor pixels) {
        static Batch text(int seq, long seed) {
            Random rng = new Random(seed);
            int[] ids = new int[2 * seq], labels = new int[2 * seq];
            float[] mask = new float[2 * seq];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = 1 + rng.nextInt(47);
                mask[i] = i >= 2 * seq - 2 ? 0f : 1f;
                labels[i] = mask[i] == 0f ? -100 : ids[i];
            }
            return new Batch(ids, 2, seq, mask, labels, null);
        }

        /** Each row: two text tokens, the image's {@code features} image tokens, then text. */
        static Batch withImages(int features, long seed) {
            Batch t = text(features + 6, seed);
            for (int r = 0; r < 2; r++) Arrays.fill(t.ids, r * t.seq + 2, r * t.seq + 2 + features, 49);
            return new Batch(t.ids, 2, t.seq, t.mask, t.labels, Tensor.randn(new Random(seed), 1f, 2, 3, 32, 32));
        }
    }

    /** The loss's bits and every trained parameter's gradient (by name; those of {@code extra} too) after one backward of {@code loss}. */
    private static Map<String, float[]> lossAndGradients(Module m, Map<String, Tensor> extra, Function<Module, Tensor> loss) {
        Map<String, Tensor> params = new LinkedHashMap<>(m.namedParameters());
        params.putAll(extra);
        for (Tensor p : params.values()) p.zeroGrad();
        Tensor l = loss.apply(m);
        Map<String, float[]> out = new LinkedHashMap<>();
        out.put("loss", new float[] {l.item()});
        l.backward();
        int reached = 0;
        for (var e : params.entrySet()) {
            Tensor g = e.getValue().grad();
            if (!e.getValue().requiresGrad()) continue;
            out.put(e.getKey(), g == null ? null : g.toFloatArray());   // null: a layer past the one LLaVA reads
            if (g != null) reached++;
        }
        assertTrue(reached > 0);
        return out;
    }

    private static void assertSameBits(Map<String, float[]> expected, Map<String, float[]> actual) {
        assertEquals(expected.keySet(), actual.keySet());
        for (String k : expected.keySet()) assertArrayEquals(expected.get(k), actual.get(k), 0f, k);
    }

    private static Tensor llamaLoss(Module m, Batch b) {
        LlamaForCausalLM llama = (LlamaForCausalLM) m;
        return LlamaForCausalLM.causalLmLoss(llama.forward(b.ids, b.batch, b.seq, b.mask), b.labels);
    }

    private static Tensor llavaLoss(Module m, Batch b) {
        return ((LlavaForConditionalGeneration) m).loss(b.ids, b.batch, b.seq, b.mask, b.pixels, b.labels);
    }

    @Test
    void llamaGradientsAreThePlainOnesToTheLastBit() {
        for (boolean tied : new boolean[] {false, true}) {
            LlamaForCausalLM m = LlamaForCausalLM.random(text(3).tieWordEmbeddings(tied).build(), 3);
            Batch b = Batch.text(9, 1);
            Map<String, float[]> plain = lossAndGradients(m, Map.of(), x -> llamaLoss(x, b));
            m.setGradientCheckpointing(true);
            assertSameBits(plain, lossAndGradients(m, Map.of(), x -> llamaLoss(x, b)));
            try (var scope = BufferPool.step()) {   // as the trainers run a micro-batch: the pooled path
                assertSameBits(plain, lossAndGradients(m, Map.of(), x -> llamaLoss(x, b)));
            }
        }
    }

    @Test
    void llavaGradientsAreThePlainOnesToTheLastBitInTheTowerTheProjectorAndTheLanguageModel() {
        for (LlavaConfig.Builder c : List.of(llavaConfig(), llavaConfig().visionFeatureLayers(-3, -1).visionFeatureSelectStrategy("full"))) {
            LlavaForConditionalGeneration m = llava(c);
            Batch b = Batch.withImages(m.featuresPerImage(), 2);
            Map<String, float[]> plain = lossAndGradients(m, Map.of(), x -> llavaLoss(x, b));
            m.setGradientCheckpointing(true);
            assertTrue(m.languageModel.gradientCheckpointing() && m.visionTower.gradientCheckpointing());
            assertSameBits(plain, lossAndGradients(m, Map.of(), x -> llavaLoss(x, b)));
        }
    }

    @Test
    void clipGradientsAreThePlainOnesToTheLastBit() {
        ClipConfig c = ClipConfig.of(ClipTextConfig.of(40, 16, 24, 2, 2, 8, ClipActivation.QUICK_GELU, 39),
                ClipVisionConfig.of(12, 20, 2, 3, 16, 8, ClipActivation.GELU), 8);
        ClipModel m = ClipModel.random(c, 4);
        int[] ids = {5, 9, 12, 39, 0, 0, 7, 3, 8, 11, 2, 39}, mask = {1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1};
        Tensor pixels = Tensor.randn(new Random(6), 1f, 2, 3, 16, 16);
        Function<Module, Tensor> loss = x -> ((ClipModel) x).forward(ids, 2, 6, mask, pixels, true).loss();
        Map<String, float[]> plain = lossAndGradients(m, Map.of(), loss);
        m.setGradientCheckpointing(true);
        assertSameBits(plain, lossAndGradients(m, Map.of(), loss));
    }

    @Test
    void loraAdaptersWithDropoutOnAFrozenLlavaGetThePlainGradients() {
        LlavaForConditionalGeneration m = llava(llavaConfig());
        LoraModel lora = LoraModel.inject(m, LoraConfig.of(4, 8, TargetModules.names("q_proj", "v_proj", "fc1", "down_proj"))
                .withDropout(0.2), 7);
        Random rng = new Random(8);
        for (Tensor p : lora.trainableParameters().values()) {
            p.backend().copy2d(Tensor.randn(rng, 0.3f, p.shape()).storage(), 0, p.numel(), p.storage(), 0, p.numel(), 1, p.numel(), false);
        }
        Batch b = Batch.withImages(m.featuresPerImage(), 3);
        lora.train(11);
        Map<String, float[]> plain = lossAndGradients(m, lora.trainableParameters(), x -> llavaLoss(x, b));
        m.setGradientCheckpointing(true);
        lora.train(11);   // the same masks: the recomputed layers must draw them again
        Map<String, float[]> ckpt = lossAndGradients(m, lora.trainableParameters(), x -> llavaLoss(x, b));
        assertSameBits(plain, ckpt);
        lora.train(12);
        Map<String, float[]> otherMasks = lossAndGradients(m, lora.trainableParameters(), x -> llavaLoss(x, b));
        assertTrue(otherMasks.get("loss")[0] != plain.get("loss")[0], "the dropout masks matter in this test");
    }

    @Test
    void dropoutFromAPlainRandomInACheckpointedLayerIsRefused() {
        Tensor x = Tensor.randn(new Random(1), 1f, 4, 4).requiresGrad(true);
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> Checkpoint.apply("layer", in -> Dropout.apply(in[0], 0.5, new Random(2)), x));
        assertTrue(e.getMessage().startsWith("dropout in a checkpointed layer needs its masks from a ReplayableRandom"), e.getMessage());
    }

    @Test
    void theGraphKeepsOneNodeAndOneHiddenStatePerDecoderLayer() {
        Batch b = Batch.text(9, 4);
        Map<Integer, Autograd.GraphSize> plain = new LinkedHashMap<>(), ckpt = new LinkedHashMap<>();
        for (int layers : new int[] {2, 4}) {
            LlamaForCausalLM m = llama(layers);
            plain.put(layers, Autograd.graphSize(llamaLoss(m, b)));
            m.setGradientCheckpointing(true);
            ckpt.put(layers, Autograd.graphSize(llamaLoss(m, b)));
        }
        long hidden = 2L * 9 * 24;
        assertEquals(2, ckpt.get(4).nodes() - ckpt.get(2).nodes(), "one node per decoder layer");
        assertEquals(2 * hidden, ckpt.get(4).floats() - ckpt.get(2).floats(), "and its hidden state");
        long plainPerLayer = (plain.get(4).floats() - plain.get(2).floats()) / 2;
        assertTrue(plainPerLayer > 10 * hidden, "a plain decoder layer keeps " + plainPerLayer + " floats");
    }

    @Test
    void generationAndForwardsWithoutGradientsAreUnchanged() {
        LlamaForCausalLM m = llama(2);
        Batch b = Batch.text(7, 5);
        float[] before;
        List<int[]> prompts = List.of(new int[] {3, 4, 5}, new int[] {6, 7});
        List<int[]> generated = new Generator(m, Sampler.greedy(), 5, new int[] {1}, 0).generate(prompts);
        try (var g = Autograd.noGrad()) {
            before = m.forward(b.ids, b.batch, b.seq, b.mask).toFloatArray();
        }
        m.setGradientCheckpointing(true);
        try (var g = Autograd.noGrad()) {
            assertArrayEquals(before, m.forward(b.ids, b.batch, b.seq, b.mask).toFloatArray(), 0f);
        }
        List<int[]> again = new Generator(m, Sampler.greedy(), 5, new int[] {1}, 0).generate(prompts);
        for (int i = 0; i < 2; i++) assertArrayEquals(generated.get(i), again.get(i));
    }
}
