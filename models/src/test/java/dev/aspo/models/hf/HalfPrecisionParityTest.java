package dev.aspo.models.hf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.aspo.models.clip.ClipModel;
import dev.aspo.models.clip.ClipVisionModel;
import dev.aspo.models.llama.LlamaForCausalLM;
import dev.aspo.models.llava.LlavaForConditionalGeneration;
import dev.aspo.models.lora.LoraConfig;
import dev.aspo.models.lora.LoraModel;
import dev.aspo.models.lora.TargetModules;
import dev.aspo.models.nn.Module;
import dev.aspo.tensor.Autograd;
import dev.aspo.tensor.HalfFloats;
import dev.aspo.tensor.Precision;
import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.io.SafeTensorsFile;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Models with their weight matrices held in bfloat16 or float16 ({@code load(dir, dtype)},
 * {@link Module#toDtype}) against the float32 model whose matrices hold the same rounded values:
 * the same outputs bit for bit (the GEMM widens the weights while packing, with the float32
 * summation order), at about half the bytes; and against transformers computing in float32 with the
 * matrices rounded the same way ({@code make_16bit_fixtures.py}).
 */
class HalfPrecisionParityTest {
    private static final Precision[] HALVES = {Precision.BFLOAT16, Precision.FLOAT16};

    static Path dir(String resource) {
        try {
            return Path.of(HalfPrecisionParityTest.class.getResource("/" + resource + "/config.json").toURI()).getParent();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Every matrix of {@code m} (float32) replaced by its value rounded to {@code p}: the reference. */
    static void roundMatricesInPlace(Module m, Precision p) {
        for (Tensor t : m.namedParameters().values()) {
            if (t.rank() < 2) continue;
            float[] v = t.toFloatArray();
            for (int i = 0; i < v.length; i++) v[i] = HalfFloats.widen(p, HalfFloats.narrow(p, v[i]));
            t.assign(Tensor.of(v, t.shape()));
        }
    }

    /** The model's outputs on its fixture's inputs, in a fixed order. */
    static List<float[]> outputs(Module m, String resource) throws IOException {
        List<float[]> out = new ArrayList<>();
        try (var g = Autograd.noGrad()) {
            if (m instanceof LlamaForCausalLM llama) {
                try (SafeTensorsFile f = SafeTensorsFile.open(dir(resource).resolve("expected.safetensors"))) {
                    int[] shape = f.info("input.ids").shape();
                    int[] ids = f.readLong("input.ids").toIntArray();
                    float[] mask = f.contains("input.attention_mask") ? floats(f.readLong("input.attention_mask").toIntArray()) : null;
                    out.add(llama.forward(ids, shape[0], shape[1], mask).toFloatArray());
                }
            } else if (m instanceof LlavaForConditionalGeneration llava) {
                try (SafeTensorsFile f = SafeTensorsFile.open(dir(resource).resolve("input.safetensors"))) {
                    int[] shape = f.info("input_ids").shape();
                    float[] mask = f.contains("attention_mask") ? floats(f.readLong("attention_mask").toIntArray()) : null;
                    out.add(llava.forward(f.readLong("input_ids").toIntArray(), shape[0], shape[1], mask,
                            f.readFloat("pixel_values")).toFloatArray());
                }
            } else if (m instanceof ClipModel clip) {
                try (SafeTensorsFile f = SafeTensorsFile.open(dir(resource).resolve("expected.safetensors"))) {
                    int[] shape = f.readLong("input_ids").shape();
                    out.add(clip.textEmbeds(f.readLong("input_ids").toIntArray(), shape[0], shape[1],
                            f.readLong("attention_mask").toIntArray()).toFloatArray());
                    out.add(clip.imageEmbeds(f.readFloat("pixel_values")).toFloatArray());
                }
            } else if (m instanceof ClipVisionModel vision) {
                try (SafeTensorsFile f = SafeTensorsFile.open(dir(resource).resolve("expected.safetensors"))) {
                    var o = vision.forward(f.readFloat("pixel_values"));
                    out.add(o.lastHiddenState().toFloatArray());
                    out.add(o.poolerOutput().toFloatArray());
                }
            }
        }
        return out;
    }

    private static float[] floats(int[] v) {
        float[] out = new float[v.length];
        for (int i = 0; i < v.length; i++) out[i] = v[i];
        return out;
    }

    static void assertSameBits(List<float[]> want, List<float[]> got, String what) {
        assertEquals(want.size(), got.size(), what);
        for (int o = 0; o < want.size(); o++) {
            float[] w = want.get(o), g = got.get(o);
            assertEquals(w.length, g.length, what + " output " + o);
            for (int i = 0; i < w.length; i++) {
                if (Float.floatToRawIntBits(w[i]) != Float.floatToRawIntBits(g[i])) {
                    throw new AssertionError(what + " output " + o + " element " + i + ": " + g[i] + ", the float32 model"
                            + " with rounded matrices gives " + w[i]);
                }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama/gqa_untied", "llama/mha_tied", "llava/gqa_untied", "llava/tied_full_layer1",
        "llava/hub_layout", "llava/padding_layers", "clip/clip", "clip/clip_vision_model"})
    void sixteenBitMatricesGiveTheFloat32ModelsOutputsOnTheRoundedWeights(String resource) throws IOException {
        for (Precision p : HALVES) {
            Module half = AutoModel.load(dir(resource), p);
            Module reference = AutoModel.load(dir(resource));
            roundMatricesInPlace(reference, p);
            for (var e : half.namedParameters().entrySet()) {
                Tensor t = e.getValue();
                assertEquals(t.rank() >= 2 ? p : Precision.FLOAT32, t.precision(), resource + " " + e.getKey());
            }
            assertSameBits(outputs(reference, resource), outputs(half, resource), resource + " " + p.torchName());
        }
    }

    @Test
    void theWeightBytesHalveAndToDtypeMatchesLoadingInSixteenBits() throws IOException {
        Path d = dir("llava/gqa_untied");
        Module f32 = AutoModel.load(d);
        long matrices = 0, vectors = 0;
        for (Tensor t : f32.namedParameters().values()) {
            if (t.rank() >= 2) matrices += t.numel();
            else vectors += t.numel();
        }
        assertEquals(4 * (matrices + vectors), f32.parameterBytes());
        Module bf16 = AutoModel.load(d, Precision.BFLOAT16);
        assertEquals(2 * matrices + 4 * vectors, bf16.parameterBytes(), "2 bytes a matrix element, 4 a norm or bias element");
        // (a tiny model: its norms and biases are a large share; in a 7B model the matrices are 99.9%)
        System.out.printf("llava gqa_untied weights: float32 %d bytes, bfloat16 matrices %d bytes (%.3f)%n", f32.parameterBytes(),
                bf16.parameterBytes(), (double) bf16.parameterBytes() / f32.parameterBytes());

        long saved = f32.toDtype(Precision.BFLOAT16, name -> true);
        assertEquals(2 * matrices, saved);
        assertEquals(bf16.parameterBytes(), f32.parameterBytes());
        assertSameBits(outputs(bf16, "llava/gqa_untied"), outputs(f32, "llava/gqa_untied"), "toDtype after a float32 load");
        for (Tensor t : f32.namedParameters().values()) assertEquals(t.rank() < 2, t.requiresGrad(), "matrices are frozen");
    }

    @Test
    void toDtypeConvertsOnlyTheSelectedMatrices() throws IOException {
        Module m = AutoModel.load(dir("llava/gqa_untied"));
        m.toDtype(Precision.BFLOAT16, name -> name.startsWith("vision_tower."));
        for (var e : m.namedParameters().entrySet()) {
            boolean converted = e.getKey().startsWith("vision_tower.") && e.getValue().rank() >= 2;
            assertEquals(converted ? Precision.BFLOAT16 : Precision.FLOAT32, e.getValue().precision(), e.getKey());
            assertEquals(!converted, e.getValue().requiresGrad(), e.getKey());
        }
    }

    /** transformers in float32 with the same rounded matrices: as close as the float32 parity tests (1e-4). */
    @ParameterizedTest
    @ValueSource(strings = {"llama/gqa_untied", "llava/gqa_untied"})
    void transformersWithMatricesRoundedTheSameWayAgrees(String resource) throws IOException {
        double tol = 1e-4;
        try (SafeTensorsFile f = SafeTensorsFile.open(dir(resource).resolve("expected_16bit.safetensors"))) {
            float[] f32 = outputs(AutoModel.load(dir(resource)), resource).get(0);
            for (Precision p : HALVES) {
                float[] want = f.readFloatArray("logits." + p.torchName());
                float[] got = outputs(AutoModel.load(dir(resource), p), resource).get(0);
                double worst = 0, fromF32 = 0;
                for (int i = 0; i < want.length; i++) {
                    worst = Math.max(worst, Math.abs((double) got[i] - want[i]));
                    fromF32 = Math.max(fromF32, Math.abs((double) f32[i] - want[i]));
                }
                assertTrue(worst <= tol, resource + " " + p.torchName() + ": max |logit difference| " + worst + " > " + tol);
                // the fixture tells the formats apart: float32 weights would miss it by far more than the tolerance
                assertTrue(fromF32 > 10 * tol, resource + " " + p.torchName() + ": float32 weights are only " + fromF32 + " off");
                System.out.printf("%s %s: max |logit - transformers| %.2e (float32 weights: %.2e)%n", resource, p.torchName(),
                        worst, fromF32);
            }
        }
    }

    /**
     * LoRA on a frozen bfloat16 base: the adapters (float32) get exactly the gradients they get on a
     * float32 base holding the rounded weights, through dX = dY W with W widened while packed.
     */
    @Test
    void loraAdaptersOnASixteenBitBaseTrainAsOnTheRoundedFloat32Base() throws IOException {
        Path d = dir("llama/gqa_untied");
        LlamaForCausalLM half = LlamaForCausalLM.load(d, Precision.BFLOAT16), ref = LlamaForCausalLM.load(d);
        roundMatricesInPlace(ref, Precision.BFLOAT16);
        LoraConfig cfg = LoraConfig.of(4, 8, TargetModules.names("q_proj", "v_proj", "down_proj"));
        LoraModel lh = LoraModel.inject(half, cfg, 5), lr = LoraModel.inject(ref, cfg, 5);
        // B starts at zero in PEFT: give it values so that the adapters change the output
        for (LoraModel l : List.of(lh, lr)) {
            java.util.Random rng = new java.util.Random(9);
            for (var layer : l.layers().values()) layer.loraB.copyFrom("weight", Tensor.randn(rng, 0.1f, layer.loraB.weight.shape()));
        }
        try (SafeTensorsFile f = SafeTensorsFile.open(d.resolve("expected.safetensors"))) {
            int[] shape = f.info("input.ids").shape();
            int[] ids = f.readLong("input.ids").toIntArray(), labels = f.readLong("input.labels").toIntArray();
            Tensor lossH = LlamaForCausalLM.causalLmLoss(half.forward(ids, shape[0], shape[1], null), labels);
            Tensor lossR = LlamaForCausalLM.causalLmLoss(ref.forward(ids, shape[0], shape[1], null), labels);
            assertEquals(Float.floatToRawIntBits(lossR.item()), Float.floatToRawIntBits(lossH.item()), "loss");
            lossH.backward();
            lossR.backward();
        }
        Map<String, Tensor> th = lh.trainableParameters(), tr = lr.trainableParameters();
        for (String n : th.keySet()) {
            assertNotNull(th.get(n).grad(), n);
            assertSameBits(List.of(tr.get(n).grad().toFloatArray()), List.of(th.get(n).grad().toFloatArray()), "gradient of " + n);
        }
        for (var e : half.namedParameters().entrySet()) {
            if (e.getValue().rank() >= 2) assertNull(e.getValue().grad(), "the frozen " + e.getKey() + " gets no gradient");
        }
    }
}
