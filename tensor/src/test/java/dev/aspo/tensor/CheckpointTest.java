package dev.aspo.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.aspo.tensor.ops.Arithmetic;
import dev.aspo.tensor.ops.Attention;
import dev.aspo.tensor.ops.MatMul;
import dev.aspo.tensor.ops.Reductions;
import dev.aspo.tensor.ops.RmsNorm;
import dev.aspo.tensor.ops.Rope;
import dev.aspo.tensor.ops.Unary;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Activation checkpointing ({@link Checkpoint}): a checkpointed layer gives the plain graph's
 * loss and gradients to the last bit (inputs, parameters, what lies upstream of the layer), with
 * several inputs, dropout drawn again the same, gradients accumulated over passes and shared
 * parameters; it runs plainly without grad mode; its graph keeps one node and the layer's input
 * per layer; in a step scope the recomputed layers reuse each other's buffers; a layer that breaks
 * the rules is an error naming it.
 */
class CheckpointTest {
    private static final int B = 2, T = 5, H = 2, D = 4, C = H * D, F = 12;

    /** The parameters of one pre-norm block (a small Llama decoder layer). */
    private static final class Block {
        final Tensor g1, wq, wk, wv, wo, g2, wg, wu, wd;

        Block(Random rng) {
            g1 = param(rng, 0.5f, 1.5f, C);
            wq = param(rng, -0.4f, 0.4f, C, C);
            wk = param(rng, -0.4f, 0.4f, C, C);
            wv = param(rng, -0.4f, 0.4f, C, C);
            wo = param(rng, -0.4f, 0.4f, C, C);
            g2 = param(rng, 0.5f, 1.5f, C);
            wg = param(rng, -0.4f, 0.4f, F, C);
            wu = param(rng, -0.4f, 0.4f, F, C);
            wd = param(rng, -0.4f, 0.4f, C, F);
        }

        Tensor[] params() {
            return new Tensor[] {g1, wq, wk, wv, wo, g2, wg, wu, wd};
        }

        /** x + attention(norm(x)) = h;  h + swiglu(norm(h)); RoPE at {@code pos}, padding keys from {@code keyMask}. */
        Tensor forward(Tensor x, int[] pos, float[] keyMask) {
            Tensor n = RmsNorm.apply(x, g1, 1e-5f);
            Tensor q = Rope.apply(linear(n, wq).reshape(B, T, H, D), pos, 10000f).reshape(B, T, C);
            Tensor k = Rope.apply(linear(n, wk).reshape(B, T, H, D), pos, 10000f).reshape(B, T, C);
            Tensor h = Arithmetic.add(x, linear(Attention.apply(q, k, linear(n, wv), H, H, true, keyMask), wo));
            Tensor m = RmsNorm.apply(h, g2, 1e-5f);
            return Arithmetic.add(h, linear(Arithmetic.mul(Unary.silu(linear(m, wg)), linear(m, wu)), wd));
        }
    }

    private static Tensor param(Random rng, float lo, float hi, int... shape) {
        return Tensor.uniform(rng, lo, hi, shape).requiresGrad(true);
    }

    private static Tensor linear(Tensor x, Tensor w) {
        return MatMul.matmul(x, w, false, true);
    }

    /** A model: tokens' features --input projection (upstream, recorded)--> L blocks --> sum(out * cot). */
    private static final class Model {
        final Tensor features, wIn, cot;
        final List<Block> blocks = new ArrayList<>();
        final int[] pos = new int[B * T];
        final float[] keyMask = new float[B * T];

        Model(int layers, long seed) {
            Random rng = new Random(seed);
            features = Tensor.uniform(rng, -1, 1, B, T, 6);
            wIn = param(rng, -0.5f, 0.5f, C, 6);
            cot = Tensor.uniform(rng, -1, 1, B, T, C);
            for (int l = 0; l < layers; l++) blocks.add(new Block(rng));
            for (int i = 0; i < pos.length; i++) {
                pos[i] = i % T;
                keyMask[i] = i == B * T - 1 ? 0f : 1f;   // the last row's last key is padding
            }
        }

        Tensor forward(boolean checkpoint) {
            Tensor h = Unary.tanh(linear(features, wIn));
            for (int l = 0; l < blocks.size(); l++) {
                Block b = blocks.get(l);
                h = checkpoint ? Checkpoint.apply("blocks." + l, in -> b.forward(in[0], pos, keyMask), h) : b.forward(h, pos, keyMask);
            }
            return h;
        }

        Tensor loss(boolean checkpoint) {
            return Reductions.sum(Arithmetic.mul(forward(checkpoint), cot));
        }

        Map<String, Tensor> params() {
            Map<String, Tensor> out = new LinkedHashMap<>();
            out.put("wIn", wIn);
            for (int l = 0; l < blocks.size(); l++) {
                Tensor[] p = blocks.get(l).params();
                for (int i = 0; i < p.length; i++) out.put("blocks." + l + "." + i, p[i]);
            }
            return out;
        }

        void zeroGrad() {
            for (Tensor p : params().values()) p.zeroGrad();
        }

        /** Every parameter's gradient by name (read from the buffer itself, which zeroGrad may then reuse). */
        Map<String, float[]> grads() {
            Map<String, float[]> out = new LinkedHashMap<>();
            for (var e : params().entrySet()) {
                Tensor p = e.getValue();
                Storage g = p.gradStorage();
                float[] v = g == null ? null : new float[p.numel()];
                if (g != null) p.backend().download(g, 0, v, v.length);
                out.put(e.getKey(), v);
            }
            return out;
        }
    }

    private static void assertSameBits(Map<String, float[]> expected, Map<String, float[]> actual) {
        assertEquals(expected.keySet(), actual.keySet());
        for (String k : expected.keySet()) {
            assertNotNull(expected.get(k), k);
            assertArrayEquals(expected.get(k), actual.get(k), 0f, k);   // 0f: bit for bit (NaN aside)
        }
    }

    @Test
    void aCheckpointedChainGivesThePlainLossAndGradientsToTheLastBit() {
        Model plain = new Model(3, 1), ckpt = new Model(3, 1);
        Tensor lp = plain.loss(false), lc = ckpt.loss(true);
        assertEquals(Float.floatToIntBits(lp.item()), Float.floatToIntBits(lc.item()));
        lp.backward();
        lc.backward();
        assertSameBits(plain.grads(), ckpt.grads());
    }

    @Test
    void gradientsAccumulateOverPassesAndSharedParametersSumBothUses() {
        Model plain = new Model(2, 2), ckpt = new Model(2, 2);
        for (int pass = 0; pass < 2; pass++) {     // micro-batches: no zeroGrad between them
            plain.loss(false).backward();
            ckpt.loss(true).backward();
        }
        assertSameBits(plain.grads(), ckpt.grads());

        // one block applied twice: its parameters get the sum of both uses' gradients
        Model a = new Model(1, 3), b = new Model(1, 3);
        Block pa = a.blocks.get(0), pb = b.blocks.get(0);
        Tensor ha = pa.forward(pa.forward(Unary.tanh(linear(a.features, a.wIn)), a.pos, a.keyMask), a.pos, a.keyMask);
        Tensor hb = Unary.tanh(linear(b.features, b.wIn));
        for (int i = 0; i < 2; i++) hb = Checkpoint.apply("shared", in -> pb.forward(in[0], b.pos, b.keyMask), hb);
        Reductions.sum(Arithmetic.mul(ha, a.cot)).backward();
        Reductions.sum(Arithmetic.mul(hb, b.cot)).backward();
        assertSameBits(a.grads(), b.grads());
    }

    @Test
    void severalInputsEachGetTheirGradientAndAConstantInputNone() {
        Random rng = new Random(4);
        Tensor x = param(rng, -1, 1, B, T, C), z = param(rng, -1, 1, B, T, C), w = param(rng, -0.5f, 0.5f, C, C);
        Tensor d = Tensor.uniform(rng, 0.5f, 1.5f, B, T, C);   // wants no gradient
        Checkpoint.Layer layer = in -> Unary.tanh(Arithmetic.mul(Arithmetic.add(linear(in[0], w), in[1]), in[2]));
        Map<String, float[]> expected = null;
        for (boolean checkpoint : new boolean[] {false, true}) {
            for (Tensor t : new Tensor[] {x, z, w}) t.zeroGrad();
            Tensor c = Unary.sigmoid(z).reshape(B * T, C).reshape(B, T, C);   // an input with a graph of its own, as a view
            Tensor[] in = {x, c, d};
            Tensor out = checkpoint ? Checkpoint.apply("three inputs", layer, in) : layer.forward(in);
            out.backward(Tensor.full(1f, out.shape()));
            Map<String, float[]> grads = new LinkedHashMap<>();
            grads.put("x", x.grad().toFloatArray());
            grads.put("z", z.grad().toFloatArray());
            grads.put("w", w.grad().toFloatArray());
            if (expected == null) expected = grads;
            else assertSameBits(expected, grads);
            assertNull(d.grad());
        }
    }

    @Test
    void theCheckpointOpPassesTheGradientCheckAgainstAScalarReference() {
        Random rng = new Random(5);
        Tensor x = param(rng, -1, 1, 3, 4), w = param(rng, -1, 1, 3, 4), c = param(rng, -1, 1, 4);
        GradCheck.check("checkpoint(tanh(x * w + c))",
                in -> Checkpoint.apply("f", t -> Unary.tanh(Arithmetic.add(Arithmetic.mul(t[0], t[1]), t[2])), in),
                v -> {
                    double[] out = new double[12];
                    for (int i = 0; i < 12; i++) out[i] = Math.tanh(v[0][i] * v[1][i] + v[2][i % 4]);
                    return out;
                }, x, w, c);
    }

    @Test
    void parametersLearnThroughALayerWhoseInputWantsNoGradient() {
        // LoRA on a frozen model: the hidden states carry no gradient, the layer's own parameters do
        Model plain = new Model(2, 6), ckpt = new Model(2, 6);
        for (Model m : new Model[] {plain, ckpt}) m.wIn.requiresGrad(false);
        plain.loss(false).backward();
        ckpt.loss(true).backward();
        Map<String, float[]> gp = plain.grads(), gc = ckpt.grads();
        assertNull(gp.remove("wIn"));
        assertNull(gc.remove("wIn"));
        assertSameBits(gp, gc);
    }

    @Test
    void withoutGradModeOrWithNothingToTrainTheLayerJustRuns() {
        Model m = new Model(2, 7);
        float[] expected;
        try (var g = Autograd.noGrad()) {
            expected = m.forward(false).toFloatArray();
            Tensor out = m.forward(true);
            assertNull(out.node(), "no graph without grad mode");
            assertArrayEquals(expected, out.toFloatArray(), 0f);
        }
        for (Tensor p : m.params().values()) p.requiresGrad(false);
        Tensor out = m.forward(true);
        assertNull(out.node(), "nothing wants a gradient: no node to recompute");
        assertArrayEquals(expected, out.toFloatArray(), 0f);
    }

    @Test
    void dropoutMasksAreDrawnAgainTheSameAndTheGeneratorEndsWhereTheForwardLeftIt() {
        Map<String, float[]> expected = null;
        ReplayableRandom.State afterForward = null;
        for (boolean checkpoint : new boolean[] {false, true}) {
            Model m = new Model(2, 8);
            ReplayableRandom rng = new ReplayableRandom(99);
            Tensor h = Unary.tanh(linear(m.features, m.wIn));
            for (int l = 0; l < 2; l++) {
                Block b = m.blocks.get(l);
                Checkpoint.Layer layer = in -> b.forward(dropout(in[0], rng), m.pos, m.keyMask);
                h = checkpoint ? Checkpoint.apply("blocks." + l, layer, h) : layer.forward(new Tensor[] {h});
            }
            ReplayableRandom.State state = rng.state();
            Reductions.sum(Arithmetic.mul(h, m.cot)).backward();
            assertEquals(state, rng.state(), "the recomputation puts the generator back");
            if (expected == null) {
                expected = m.grads();
                afterForward = state;
            } else {
                assertSameBits(expected, m.grads());
                assertEquals(afterForward, state);
            }
        }
    }

    /** Inverted dropout p = 0.3 with a mask from {@code rng}. */
    private static Tensor dropout(Tensor x, Random rng) {
        float[] mask = new float[x.numel()];
        for (int i = 0; i < mask.length; i++) mask[i] = rng.nextDouble() < 0.3 ? 0f : 1f / 0.7f;
        return Arithmetic.mul(x, Tensor.of(mask, x.shape()));
    }

    @Test
    void aLayerThatBreaksTheRulesIsNamed() {
        Random rng = new Random(9);
        Tensor x = param(rng, -1, 1, 2, 3), w = param(rng, -1, 1, 2, 3);
        Tensor outside = Unary.tanh(w);          // computed outside the layer, used inside without being an input
        Tensor y = Checkpoint.apply("model.layers.7", in -> Arithmetic.mul(in[0], outside), x);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Reductions.sum(y).backward());
        assertTrue(e.getMessage().startsWith("checkpoint model.layers.7: the layer used a tensor [2, 3] that an op outside it"
                + " computed (tanh)"), e.getMessage());

        e = assertThrows(IllegalStateException.class, () -> Checkpoint.apply("view", in -> in[0].reshape(3, 2), x));
        assertTrue(e.getMessage().startsWith("checkpoint view: the layer returned one of its inputs, a view"), e.getMessage());
        assertTrue(Checkpoint.apply("identity", in -> in[0], x) == x, "a layer that computes nothing hands its input on");
        assertThrows(IllegalArgumentException.class, () -> Checkpoint.apply("null", in -> in[0], (Tensor) null));
    }

    @Test
    void theGraphKeepsOneNodeAndOneInputPerCheckpointedLayer() {
        Autograd.GraphSize plain2 = Autograd.graphSize(new Model(2, 10).loss(false));
        Autograd.GraphSize plain4 = Autograd.graphSize(new Model(4, 10).loss(false));
        Autograd.GraphSize ckpt2 = Autograd.graphSize(new Model(2, 10).loss(true));
        Autograd.GraphSize ckpt4 = Autograd.graphSize(new Model(4, 10).loss(true));
        int hidden = B * T * C;
        assertEquals(2, ckpt4.nodes() - ckpt2.nodes(), "one node per layer");
        assertEquals(2L * hidden, ckpt4.floats() - ckpt2.floats(), "each layer keeps its output, the next one's input");
        long plainPerLayer = (plain4.floats() - plain2.floats()) / 2;
        assertTrue(plainPerLayer > 10L * hidden, "the plain graph keeps every intermediate: " + plainPerLayer + " floats a layer");
        assertEquals(2 * 20, plain4.nodes() - plain2.nodes(), "a plain block records its 20 ops (reshapes included)");
    }

    @Test
    void inAStepScopeTheRecomputedLayersShareBuffersAndASecondStepTakesNone() {
        BufferPool pool = BufferPool.ofThisThread();
        Map<Integer, Long> firstStep = new LinkedHashMap<>();
        for (int layers : new int[] {2, 4}) {
            BufferPool.clear();
            Model plain = new Model(layers, 11), ckpt = new Model(layers, 11);
            plain.loss(false).backward();
            Map<String, float[]> expected = plain.grads();
            long[] fresh = new long[3];
            for (int s = 0; s < 3; s++) {
                ckpt.zeroGrad();
                long before = pool.freshAllocations;
                try (var scope = BufferPool.step()) {
                    ckpt.loss(true).backward();
                }
                fresh[s] = pool.freshAllocations - before;
                assertSameBits(expected, ckpt.grads());   // pooled buffers change no bit, step after step
            }
            assertEquals(0, fresh[1], "the second step takes every buffer from the pool");
            assertEquals(0, fresh[2]);
            firstStep.put(layers, fresh[0]);
        }
        // two more layers cost their parameters' gradients (9 each), the kept hidden state and its gradient,
        // not their intermediates: those of one layer's recomputation serve the next one's
        long extra = firstStep.get(4) - firstStep.get(2);
        assertTrue(extra <= 2 * (9 + 2), "fresh buffers of the first step " + firstStep);
        BufferPool.clear();
    }

    @Test
    void replayableRandomIsJavaUtilRandomNumberForNumberAndReplaysFromItsState() {
        Random ref = new Random(12345);
        ReplayableRandom r = new ReplayableRandom(12345);
        for (int i = 0; i < 200; i++) {
            switch (i % 7) {
                case 0 -> assertEquals(ref.nextInt(), r.nextInt());
                case 1 -> assertEquals(ref.nextInt(17), r.nextInt(17));
                case 2 -> assertEquals(ref.nextLong(), r.nextLong());
                case 3 -> assertEquals(Double.doubleToLongBits(ref.nextDouble()), Double.doubleToLongBits(r.nextDouble()));
                case 4 -> assertEquals(Float.floatToIntBits(ref.nextFloat()), Float.floatToIntBits(r.nextFloat()));
                case 5 -> assertEquals(ref.nextBoolean(), r.nextBoolean());
                default -> assertEquals(Double.doubleToLongBits(ref.nextGaussian()), Double.doubleToLongBits(r.nextGaussian()));
            }
        }
        r.nextGaussian();                        // leaves a spare Gaussian in the state
        ReplayableRandom.State s = r.state();
        double[] first = {r.nextGaussian(), r.nextDouble(), r.nextGaussian()};
        r.restore(s);
        assertArrayEquals(first, new double[] {r.nextGaussian(), r.nextDouble(), r.nextGaussian()}, 0.0);
        r.setSeed(7);
        ref.setSeed(7);
        assertEquals(ref.nextLong(), r.nextLong());
    }
}
