package dev.aspo.tensor.optim;

import static dev.aspo.tensor.optim.AdamWParityTest.setGrad;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.ops.MatMul;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

class AdamWTest {
    private final Random rng = new Random(5);

    private Map<String, Tensor> params() {
        Map<String, Tensor> p = new LinkedHashMap<>();
        p.put("layers.0.q_proj.weight", Tensor.randn(rng, 1f, 4, 9).requiresGrad(true));
        p.put("layers.0.q_proj.bias", Tensor.randn(rng, 1f, 9).requiresGrad(true));
        p.put("layers.0.input_layernorm.weight", Tensor.randn(rng, 1f, 4).requiresGrad(true));
        return p;
    }

    /** Gradients for step {@code s}, the same for every run. */
    private static void grads(Map<String, Tensor> params, int s) {
        Random r = new Random(100 + s);
        for (Tensor p : params.values()) {
            float[] g = new float[p.numel()];
            for (int i = 0; i < g.length; i++) g[i] = (float) r.nextGaussian();
            setGrad(p, g);
        }
    }

    @Test
    void resumingFromExportedStateContinuesBitForBit() {
        var options = AdamW.Options.of(1e-2).withWeightDecay(0.1);
        Map<String, Tensor> straight = params();
        Map<String, Tensor> resumed = new LinkedHashMap<>();
        straight.forEach((k, v) -> resumed.put(k, Tensor.of(v.toFloatArray(), v.shape()).requiresGrad(true)));

        AdamW a = new AdamW(straight, options, AdamW.biasesAndNorms());
        for (int s = 0; s < 6; s++) {
            grads(straight, s);
            a.step();
        }

        AdamW b = new AdamW(resumed, options, AdamW.biasesAndNorms());
        for (int s = 0; s < 3; s++) {
            grads(resumed, s);
            b.step();
        }
        Map<String, float[]> saved = b.state();
        AdamW c = new AdamW(resumed, options, AdamW.biasesAndNorms());   // a fresh process, same weights
        c.loadState(saved);
        for (int s = 3; s < 6; s++) {
            grads(resumed, s);
            c.step();
        }
        for (String name : straight.keySet()) {
            assertArrayEquals(straight.get(name).toFloatArray(), resumed.get(name).toFloatArray(), name);
            assertEquals(6, c.step(name));
        }
        Map<String, float[]> sa = a.state(), sc = c.state();
        assertEquals(sa.keySet(), sc.keySet());
        sa.forEach((k, v) -> assertArrayEquals(v, sc.get(k), k));
    }

    @Test
    void stateIsTorchShapedAndACopy() {
        Map<String, Tensor> p = params();
        AdamW opt = new AdamW(p, AdamW.Options.of(1e-3), AdamW.biasesAndNorms());
        assertTrue(opt.state().isEmpty(), "no state before the first step");
        grads(p, 0);
        opt.step();
        Map<String, float[]> st = opt.state();
        assertEquals(9, st.size());
        assertArrayEquals(new float[] {1f}, st.get("layers.0.q_proj.bias.step"));
        assertEquals(36, st.get("layers.0.q_proj.weight.exp_avg_sq").length);
        st.get("layers.0.q_proj.weight.exp_avg")[0] = 1e9f;
        assertFalse(opt.state().get("layers.0.q_proj.weight.exp_avg")[0] == 1e9f, "state() must copy");
    }

    @Test
    void parameterWithoutGradientIsLeftAloneAndKeepsItsStep() {
        Tensor used = Tensor.randn(rng, 1f, 5).requiresGrad(true);
        Tensor unused = Tensor.randn(rng, 1f, 3).requiresGrad(true);
        float[] before = unused.toFloatArray();
        AdamW opt = new AdamW(List.of(used, unused), AdamW.Options.of(0.1).withWeightDecay(0.5));
        setGrad(used, new float[] {1, 2, 3, 4, 5});
        opt.step();
        assertArrayEquals(before, unused.toFloatArray(), "no gradient: not even weight decay, as in torch");
        assertEquals(1, opt.step("0"));
        assertEquals(0, opt.step("1"));
        assertEquals(3, opt.state().size());
    }

    @Test
    void firstStepMovesEachWeightByLrTimesTheSignOfItsGradient() {
        // step 1: m_hat = g, v_hat = g^2, so the update is lr * g / (|g| + eps) = lr * sign(g)
        Tensor w = Tensor.of(new float[] {1f, 1f, 1f}, 3).requiresGrad(true);
        AdamW opt = new AdamW(List.of(w), AdamW.Options.of(0.1).withWeightDecay(0).withEps(0));
        setGrad(w, new float[] {3f, -0.01f, 200f});
        opt.step();
        assertArrayEquals(new float[] {0.9f, 1.1f, 0.9f}, w.toFloatArray(), 1e-6f);
    }

    @Test
    void zeroGradDropsGradients() {
        Map<String, Tensor> p = params();
        AdamW opt = new AdamW(p, AdamW.Options.of(1e-3), name -> false);
        grads(p, 0);
        opt.zeroGrad();
        for (Tensor t : p.values()) assertNull(t.grad());
        opt.step();   // nothing to do
        assertTrue(opt.state().isEmpty());
    }

    @Test
    void learnsALeastSquaresProblem() {
        // autograd end to end: minimise |x w - y|^2 for a w the data was made with
        Tensor x = Tensor.randn(rng, 1f, 32, 3);
        float[] wTrue = {0.5f, -1.5f, 2f};
        Tensor w = Tensor.zeros(3, 1).requiresGrad(true);
        float[] xs = x.toFloatArray(), ys = new float[32];
        for (int i = 0; i < 32; i++) for (int j = 0; j < 3; j++) ys[i] += xs[i * 3 + j] * wTrue[j];
        AdamW opt = new AdamW(List.of(w), AdamW.Options.of(0.05).withWeightDecay(0));
        for (int s = 0; s < 400; s++) {
            opt.zeroGrad();
            float[] pred = MatMul.matmul(x, w).toFloatArray();
            float[] g = new float[3];   // d/dw of mean squared error, by hand (no elementwise ops needed)
            for (int i = 0; i < 32; i++) for (int j = 0; j < 3; j++) g[j] += 2 * (pred[i] - ys[i]) * xs[i * 3 + j] / 32;
            setGrad(w, g);
            opt.step();
        }
        assertArrayEquals(wTrue, w.toFloatArray(), 1e-3f);
    }

    @Test
    void biasesAndNormsFollowsHuggingFaceNames() {
        Predicate<String> no = AdamW.biasesAndNorms();
        for (String name : new String[] {"bias", "fc.bias", "model.norm.weight", "layers.3.input_layernorm.weight",
                "layers.3.post_attention_layernorm.weight", "vision_model.pre_layrnorm.weight",
                "encoder.layers.0.layer_norm1.weight", "vision_model.post_layernorm.bias"}) {
            assertTrue(no.test(name), name);
        }
        for (String name : new String[] {"lm_head.weight", "layers.0.self_attn.q_proj.weight", "embed_tokens.weight",
                "vision_model.embeddings.class_embedding", "logit_scale"}) {
            assertFalse(no.test(name), name);
        }
    }

    @Test
    void badParametersAndOptionsFailClearly() {
        Tensor leaf = Tensor.randn(rng, 1f, 2, 2).requiresGrad(true);
        var e = assertThrows(IllegalArgumentException.class,
                () -> new AdamW(List.of(Tensor.zeros(2)), AdamW.Options.of(1e-3)));
        assertTrue(e.getMessage().contains("'0'") && e.getMessage().contains("does not require a gradient"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> new AdamW(List.of(MatMul.matmul(leaf, leaf)), AdamW.Options.of(1e-3)));
        assertTrue(e.getMessage().contains("not a leaf"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> new AdamW(List.of(leaf, leaf.detach().requiresGrad(true)), AdamW.Options.of(1e-3)));
        assertTrue(e.getMessage().contains("share one storage"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> AdamW.Options.of(1e-3).withBetas(0.9, 1.0));
        assertTrue(e.getMessage().contains("beta2"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> AdamW.Options.of(-1));
        assertThrows(IllegalArgumentException.class, () -> AdamW.Options.of(Double.NaN));
        assertThrows(IllegalArgumentException.class, () -> AdamW.Options.of(1e-3).withWeightDecay(-0.1));
        AdamW opt = new AdamW(List.of(leaf), AdamW.Options.of(1e-3));
        assertThrows(IllegalArgumentException.class, () -> opt.setLr(Double.POSITIVE_INFINITY));
    }

    @Test
    void badStateIsRejectedWholeWithTheKey() {
        Map<String, Tensor> p = params();
        AdamW opt = new AdamW(p, AdamW.Options.of(1e-3), AdamW.biasesAndNorms());
        grads(p, 0);
        opt.step();
        Map<String, float[]> good = opt.state();

        Map<String, float[]> unknown = new LinkedHashMap<>(good);
        unknown.put("other.weight.exp_avg", new float[1]);
        var e = assertThrows(IllegalArgumentException.class, () -> opt.loadState(unknown));
        assertTrue(e.getMessage().contains("'other.weight'"), e.getMessage());

        Map<String, float[]> wrongSize = new LinkedHashMap<>(good);
        wrongSize.put("layers.0.q_proj.bias.exp_avg_sq", new float[8]);
        e = assertThrows(IllegalArgumentException.class, () -> opt.loadState(wrongSize));
        assertTrue(e.getMessage().contains("layers.0.q_proj.bias.exp_avg_sq") && e.getMessage().contains("[9]"),
                e.getMessage());

        Map<String, float[]> missing = new LinkedHashMap<>(good);
        missing.remove("layers.0.q_proj.weight.step");
        e = assertThrows(IllegalArgumentException.class, () -> opt.loadState(missing));
        assertTrue(e.getMessage().contains("layers.0.q_proj.weight.step' is missing"), e.getMessage());

        Map<String, float[]> badStep = new LinkedHashMap<>(good);
        badStep.put("layers.0.q_proj.weight.step", new float[] {2.5f});
        assertThrows(IllegalArgumentException.class, () -> opt.loadState(badStep));

        assertEquals(1, opt.step("layers.0.q_proj.weight"), "a rejected state changes nothing");
        opt.loadState(Map.of());
        assertEquals(0, opt.step("layers.0.q_proj.weight"), "an empty state starts fresh");
    }
}
