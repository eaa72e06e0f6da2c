package dev.aspo.models.lora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.aspo.models.hf.HfJson;
import dev.aspo.models.llama.Fixtures;
import dev.aspo.models.llava.LlavaForConditionalGeneration;
import dev.aspo.models.lora.LoraFixtures.Case;
import dev.aspo.models.lora.LoraFixtures.Inputs;
import dev.aspo.models.nn.Linear;
import dev.aspo.models.nn.Module;
import dev.aspo.tensor.Autograd;
import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.io.SafeTensorsFile;
import dev.aspo.tensor.optim.AdamW;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What a {@link LoraModel} guarantees, on the tiny LLaVA of the parity fixtures. */
class LoraModelTest {
    static final TargetModules QV_PROJECTOR = TargetModules.names("q_proj", "v_proj", "linear_1", "lm_head");

    @TempDir
    Path tmp;

    static LlavaForConditionalGeneration llava() throws IOException {
        return LlavaForConditionalGeneration.load(Case.LLAVA_LISTS.baseDir());
    }

    static Inputs inputs() throws IOException {
        return Case.LLAVA_LISTS.inputs();
    }

    static float[] logits(Module m, Inputs in) {
        try (var g = Autograd.noGrad()) {
            return in.logits(m).toFloatArray();
        }
    }

    /** Gives every lora_B (and lora_A) values drawn from {@code seed}, so that the adapters matter. */
    static void randomise(LoraModel lora, long seed) {
        Random rng = new Random(seed);
        for (var e : lora.trainableParameters().entrySet()) {
            Tensor p = e.getValue();
            float[] v = Tensor.randn(rng, 0.2f, p.shape()).toFloatArray();
            copyInto(p, v);
        }
    }

    private static void copyInto(Tensor p, float[] v) {
        p.backend().copy2d(Tensor.of(v, p.shape()).storage(), 0, p.numel(), p.storage(), 0, p.numel(), 1, p.numel(), false);
    }

    @Test
    void freshAdaptersChangeNothingAndAreInitialisedAsPeftDoes() throws IOException {
        LlavaForConditionalGeneration m = llava();
        Inputs in = inputs();
        float[] before = logits(m, in);
        LoraModel lora = LoraModel.inject(m, LoraConfig.of(4, 8, QV_PROJECTOR), 7);
        assertArrayEquals(before, logits(m, in), "lora_B starts at zero: the outputs are the base model's, bit for bit");
        for (LoraLayer l : lora.layers().values()) {
            double bound = 1 / Math.sqrt(l.loraA.inFeatures());
            float[] a = l.loraA.weight.toFloatArray();
            double max = 0;
            for (float v : a) {
                assertTrue(Math.abs(v) <= bound, "kaiming_uniform(a=sqrt(5)) stays within 1/sqrt(fan_in) = " + bound + ": " + v);
                max = Math.max(max, Math.abs(v));
            }
            assertTrue(max > bound / 2, "lora_A spans its range: max |a| " + max + " of bound " + bound);
            for (float v : l.loraB.weight.toFloatArray()) assertEquals(0f, v);
            assertEquals(4, l.loraA.outFeatures());
        }
        LoraModel again = LoraModel.inject(llava(), LoraConfig.of(4, 8, QV_PROJECTOR), 7);
        LoraModel other = LoraModel.inject(llava(), LoraConfig.of(4, 8, QV_PROJECTOR), 8);
        String first = lora.trainableParameters().keySet().iterator().next();
        assertArrayEquals(lora.trainableParameters().get(first).toFloatArray(), again.trainableParameters().get(first).toFloatArray());
        assertFalse(java.util.Arrays.equals(lora.trainableParameters().get(first).toFloatArray(),
                other.trainableParameters().get(first).toFloatArray()), "another seed, other lora_A");
    }

    @Test
    void listTargetsMatchNameSuffixesAcrossTheVisionTowerProjectorAndLanguageModel() throws IOException {
        LoraModel lora = LoraModel.inject(llava(), LoraConfig.of(4, 8, QV_PROJECTOR), 1);
        assertEquals(List.of(
                "model.vision_tower.encoder.layers.0.self_attn.v_proj", "model.vision_tower.encoder.layers.0.self_attn.q_proj",
                "model.vision_tower.encoder.layers.1.self_attn.v_proj", "model.vision_tower.encoder.layers.1.self_attn.q_proj",
                "model.vision_tower.encoder.layers.2.self_attn.v_proj", "model.vision_tower.encoder.layers.2.self_attn.q_proj",
                "model.multi_modal_projector.linear_1",
                "model.language_model.layers.0.self_attn.q_proj", "model.language_model.layers.0.self_attn.v_proj",
                "model.language_model.layers.1.self_attn.q_proj", "model.language_model.layers.1.self_attn.v_proj",
                "lm_head"), lora.targetNames());
        assertTrue(lora.trainableParameters().containsKey("base_model.model.model.language_model.layers.1.self_attn.v_proj.lora_B.weight"));
        assertTrue(lora.trainableParameters().containsKey("base_model.model.lm_head.lora_A.weight"));
        assertEquals(2 * 12, lora.trainableParameters().size());
    }

    @Test
    void aRegularExpressionMustMatchTheWholeNameAndExcludeModulesRemoveLayers() throws IOException {
        // the language model's attention only: the vision tower's q_proj does not match the whole pattern
        LoraConfig c = LoraConfig.of(2, 4, TargetModules.regex("model\\.language_model\\.layers\\.\\d+\\.self_attn\\.(q|k)_proj"))
                .withExcludeModules(TargetModules.names("layers.1.self_attn.k_proj"));
        LoraModel lora = LoraModel.inject(llava(), c, 1);
        assertEquals(List.of("model.language_model.layers.0.self_attn.q_proj", "model.language_model.layers.0.self_attn.k_proj",
                "model.language_model.layers.1.self_attn.q_proj"), lora.targetNames());
        assertEquals(List.of("model.language_model.layers.0.self_attn.q_proj"),
                LoraModel.inject(llava(), LoraConfig.of(2, 4, TargetModules.regex("model.language_model.layers.0.self_attn.q_proj")), 1)
                        .targetNames());
        // a partial match is no match (re.fullmatch)
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> LoraModel.inject(llava(), LoraConfig.of(2, 4, TargetModules.regex("q_proj")), 1));
        assertTrue(e.getMessage().contains("target_modules \"q_proj\" match no linear layer of this LlavaForConditionalGeneration"),
                e.getMessage());
    }

    @Test
    void allLinearIsEveryLinearLayerButTheOutputLayerAndIsRecordedAsTheirNames() throws IOException {
        LlavaForConditionalGeneration m = llava();
        LoraModel lora = LoraModel.inject(m, LoraConfig.of(2, 4, TargetModules.regex("all-linear")), 1);
        long linears = m.namedModules().values().stream().filter(x -> x instanceof Linear).count();
        assertEquals(linears - 1, lora.layers().size());
        assertFalse(lora.targetNames().contains("lm_head"));
        assertEquals(TargetModules.names(lora.targetNames()), lora.config().targetModules());
    }

    @Test
    void targetsThatMatchNothingOrNoLinearLayerAreErrors() throws IOException {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> LoraModel.inject(llava(), LoraConfig.of(2, 4, TargetModules.names("query_key_value")), 1));
        assertTrue(e.getMessage().startsWith("LoRA: target_modules [query_key_value] match no linear layer of this"
                + " LlavaForConditionalGeneration (module names as transformers has them, e.g. model.vision_tower.encoder.layers.0"),
                e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> LoraModel.inject(llava(), LoraConfig.of(2, 4, TargetModules.names("q_proj", "embed_tokens")), 1));
        assertTrue(e.getMessage().contains("match modules that are not linear layers: [model.language_model.embed_tokens"
                + " (LlamaEmbedding)]"), e.getMessage());
        LlavaForConditionalGeneration m = llava();
        LoraModel.inject(m, LoraConfig.of(2, 4, TargetModules.names("q_proj")), 1);
        e = assertThrows(IllegalArgumentException.class, () -> LoraModel.inject(m, LoraConfig.of(2, 4, TargetModules.names("q_proj")), 1));
        assertTrue(e.getMessage().contains("already carry an adapter"), e.getMessage());
    }

    @Test
    void onlyTheAdaptersAreTrainableAndOnlyTheyGetAdamWMoments() throws IOException {
        LlavaForConditionalGeneration m = llava();
        LoraModel lora = LoraModel.inject(m, LoraConfig.of(4, 8, QV_PROJECTOR), 3);
        randomise(lora, 4);
        for (var e : m.namedParameters().entrySet()) assertFalse(e.getValue().requiresGrad(), e.getKey() + " is frozen");
        AdamW opt = new AdamW(lora.trainableParameters(), AdamW.Options.of(1e-2), AdamW.biasesAndNorms());
        Inputs in = inputs();
        float[] before = logits(m, in);
        opt.zeroGrad();
        in.loss(m).backward();
        for (var e : m.namedParameters().entrySet()) assertNull(e.getValue().grad(), e.getKey() + " has no gradient");
        opt.step();
        TreeSet<String> moments = new TreeSet<>();
        for (String k : opt.state().keySet()) moments.add(k.substring(0, k.lastIndexOf('.')));
        // the vision tower's last layer is not run (feature layer -2): its adapters get no gradient, so no moments
        TreeSet<String> withGradient = new TreeSet<>();
        for (var e : lora.trainableParameters().entrySet()) if (e.getValue().grad() != null) withGradient.add(e.getKey());
        assertEquals(withGradient, moments);
        assertEquals(lora.trainableParameters().size() - 4, withGradient.size());
        assertNotEquals(before[0], logits(m, in)[0], "a step changed the adapters' output");
        for (var e : llava().namedParameters().entrySet()) {
            assertArrayEquals(e.getValue().toFloatArray(), m.namedParameters().get(e.getKey()).toFloatArray(),
                    e.getKey() + ": the step left the base model alone");
        }
    }

    @Test
    void anAdaptedLayerAddsTheScaledLowRankProductToItsOutput() throws IOException {
        for (boolean rslora : new boolean[] {false, true}) {
            LlavaForConditionalGeneration m = llava();
            LoraModel lora = LoraModel.inject(m, LoraConfig.of(3, 5, TargetModules.names("linear_1")).withRslora(rslora), 1);
            randomise(lora, 2);
            Linear lin = m.multiModalProjector.linear1;
            LoraLayer l = lora.layers().get("multi_modal_projector.linear_1");
            assertSame(l, lin.adapter());
            double scaling = rslora ? 5 / Math.sqrt(3) : 5.0 / 3;
            assertEquals((float) scaling, l.scaling());
            int in = lin.inFeatures(), out = lin.outFeatures(), r = 3, rows = 5;
            Tensor x = Tensor.randn(new Random(9), 1f, rows, in);
            float[] got = lin.forward(x).toFloatArray();
            float[] xs = x.toFloatArray(), w = lin.weight.toFloatArray(), b = lin.bias.toFloatArray();
            float[] a = l.loraA.weight.toFloatArray(), bb = l.loraB.weight.toFloatArray();
            for (int i = 0; i < rows; i++) {
                double[] ax = new double[r];
                for (int k = 0; k < r; k++) for (int j = 0; j < in; j++) ax[k] += (double) a[k * in + j] * xs[i * in + j];
                for (int o = 0; o < out; o++) {
                    double y = b[o], d = 0;
                    for (int j = 0; j < in; j++) y += (double) w[o * in + j] * xs[i * in + j];
                    for (int k = 0; k < r; k++) d += bb[o * r + k] * ax[k];
                    double want = y + scaling * d;
                    assertEquals(want, got[i * out + o], 1e-5 * Math.max(1, Math.abs(want)), "rslora " + rslora + " row " + i + " out " + o);
                }
            }
        }
    }

    @Test
    void disabledAdaptersGiveTheBaseModelUntilTheScopeCloses() throws IOException {
        LlavaForConditionalGeneration m = llava();
        Inputs in = inputs();
        float[] base = logits(m, in);
        LoraModel lora = LoraModel.inject(m, LoraConfig.of(4, 8, QV_PROJECTOR), 3);
        randomise(lora, 4);
        float[] adapted = logits(m, in);
        assertFalse(java.util.Arrays.equals(base, adapted));
        try (var off = lora.disabled()) {
            assertFalse(lora.enabled());
            assertArrayEquals(base, logits(m, in));
        }
        assertArrayEquals(adapted, logits(m, in));
        lora.setEnabled(false);
        assertArrayEquals(base, logits(m, in));
        lora.setEnabled(true);
        assertArrayEquals(adapted, logits(m, in));
    }

    @Test
    void mergingFoldsTheAdaptersIntoTheWeightsAndUnfreezesTheBase() throws IOException {
        LlavaForConditionalGeneration m = llava();
        Inputs in = inputs();
        LoraModel lora = LoraModel.inject(m, LoraConfig.of(4, 8, QV_PROJECTOR), 3);
        randomise(lora, 4);
        float[] adapted = logits(m, in);
        Module merged = lora.mergeAndUnload();
        assertSame(m, merged);
        for (Module x : m.namedModules().values()) if (x instanceof Linear lin) assertNull(lin.adapter());
        for (var e : m.namedParameters().entrySet()) assertTrue(e.getValue().requiresGrad(), e.getKey() + " trains again");
        Fixtures.assertAbs("merged logits", adapted, logits(m, in), 1e-4);
        assertThrows(IllegalStateException.class, lora::trainableParameters);
        assertThrows(IllegalStateException.class, lora::mergeAndUnload);
    }

    @Test
    void unloadingRemovesTheAdaptersWithoutMerging() throws IOException {
        LlavaForConditionalGeneration m = llava();
        Inputs in = inputs();
        float[] base = logits(m, in);
        LoraModel lora = LoraModel.inject(m, LoraConfig.of(4, 8, QV_PROJECTOR), 3);
        randomise(lora, 4);
        lora.unload();
        assertArrayEquals(base, logits(m, in));
    }

    @Test
    void saveThenLoadRoundTripsTheAdapterUnderPeftsNames() throws IOException {
        LlavaForConditionalGeneration m = llava();
        LoraConfig c = LoraConfig.of(4, 8, QV_PROJECTOR).withDropout(0.05).withRslora(true).withTaskType("CAUSAL_LM")
                .withBaseModel("llava-tiny").withExcludeModules(TargetModules.regex(".*vision_tower.*layers\\.2.*"));
        LoraModel lora = LoraModel.inject(m, c, 3);
        randomise(lora, 4);
        Inputs in = inputs();
        float[] adapted = logits(m, in);
        Path dir = tmp.resolve("adapter");
        lora.save(dir);
        try (Stream<Path> s = Files.list(tmp)) {
            assertEquals(List.of("adapter"), s.map(p -> p.getFileName().toString()).toList(), "no temporary left behind");
        }
        try (SafeTensorsFile f = SafeTensorsFile.open(dir.resolve(LoraModel.WEIGHTS_FILE))) {
            TreeSet<String> want = new TreeSet<>(lora.trainableParameters().keySet());
            want.add("base_model.model.lm_head.base_layer.weight");      // as PEFT saves a targeted lm_head
            assertEquals(want, new TreeSet<>(f.names()));
            assertEquals("pt", f.metadata().get("format"));
        }
        JsonNode j = HfJson.readObject(dir.resolve(LoraConfig.FILE));
        assertEquals("LORA", j.get("peft_type").textValue());
        assertEquals("none", j.get("bias").textValue());
        assertEquals(8, j.get("lora_alpha").intValue());
        assertTrue(j.get("lora_alpha").isIntegralNumber());
        assertEquals("LlavaForConditionalGeneration", j.get("auto_mapping").get("base_model_class").textValue());
        assertTrue(j.get("inference_mode").booleanValue());

        LlavaForConditionalGeneration fresh = llava();
        LoraModel back = LoraModel.load(fresh, dir);
        assertEquals(c, back.config());
        assertArrayEquals(adapted, logits(fresh, in));
        assertEquals(lora.targetNames(), back.targetNames());

        // saving again into the same folder replaces both files
        randomise(lora, 5);
        lora.save(dir);
        LlavaForConditionalGeneration third = llava();
        LoraModel.load(third, dir);
        assertArrayEquals(logits(m, in), logits(third, in));
    }

    @Test
    void loadWeightsKeepsTheTensorsAnOptimiserHolds() throws IOException {
        LlavaForConditionalGeneration m = llava();
        LoraModel lora = LoraModel.inject(m, LoraConfig.of(4, 8, QV_PROJECTOR), 3);
        randomise(lora, 4);
        Path dir = tmp.resolve("a");
        lora.save(dir);
        Map<String, Tensor> held = lora.trainableParameters();
        float[] saved = held.values().iterator().next().toFloatArray();
        randomise(lora, 6);
        lora.loadWeights(dir);
        Map<String, Tensor> now = lora.trainableParameters();
        for (var e : held.entrySet()) assertSame(e.getValue(), now.get(e.getKey()));
        assertArrayEquals(saved, held.values().iterator().next().toFloatArray());
    }

    @Test
    void dropoutActsOnlyInTrainingAndIsReproducibleFromItsSeed() throws IOException {
        LlavaForConditionalGeneration m = llava();
        Inputs in = inputs();
        LoraModel lora = LoraModel.inject(m, LoraConfig.of(4, 8, QV_PROJECTOR).withDropout(0.5), 3);
        randomise(lora, 4);
        float[] eval = logits(m, in);
        lora.train(11);
        float[] a = logits(m, in);
        lora.train(11);
        assertArrayEquals(a, logits(m, in), "the same seed, the same masks");
        lora.train(12);
        assertFalse(java.util.Arrays.equals(a, logits(m, in)), "another seed, other masks");
        assertFalse(java.util.Arrays.equals(a, eval));
        lora.eval();
        assertArrayEquals(eval, logits(m, in));
        // without dropout, training mode changes nothing
        LlavaForConditionalGeneration n = llava();
        LoraModel plain = LoraModel.inject(n, LoraConfig.of(4, 8, QV_PROJECTOR), 3);
        randomise(plain, 4);
        float[] before = logits(n, in);
        plain.train(1);
        assertArrayEquals(before, logits(n, in));
    }

    @Test
    void clipVisionModelAdaptersAreNamedAsTransformers5HasTheTower() throws IOException {
        var tower = dev.aspo.models.clip.ClipVisionModel.load(LoraFixtures.resource("clip/clip_vision_model"));
        LoraModel lora = LoraModel.inject(tower, LoraConfig.of(2, 2, TargetModules.names("fc1")), 1);
        assertTrue(lora.targetNames().get(0).startsWith("encoder.layers.0.mlp.fc1"), lora.targetNames().toString());
        Path dir = tmp.resolve("clip");
        randomise(lora, 2);
        lora.save(dir);
        var again = dev.aspo.models.clip.ClipVisionModel.load(LoraFixtures.resource("clip/clip_vision_model"));
        LoraModel back = LoraModel.load(again, dir);
        String name = "base_model.model.encoder.layers.0.mlp.fc1.lora_B.weight";
        assertNotNull(back.trainableParameters().get(name), back.trainableParameters().keySet().toString());
        assertArrayEquals(lora.trainableParameters().get(name).toFloatArray(), back.trainableParameters().get(name).toFloatArray());
    }
}
