package dev.aspo.tensor.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.aspo.tensor.HalfFloats;
import dev.aspo.tensor.Precision;
import dev.aspo.tensor.Tensor;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * A frozen weight held in bfloat16 or float16 ({@link Tensor#storeAs}): half the bytes; the ops that
 * read weights (matmul, embedding lookups) give exactly what they give on a float32 tensor holding
 * the rounded values, forward and in the gradient of the other input; every other op refuses it with
 * an error naming the op and the tensor.
 */
class HalfWeightTest {
    private static final Precision[] HALVES = {Precision.BFLOAT16, Precision.FLOAT16};
    private final Random rng = new Random(3);

    private static Tensor rounded(Tensor half) {
        return Tensor.of(half.toFloatArray(), half.shape());
    }

    private static void assertSameBits(float[] want, float[] got, String what) {
        assertEquals(want.length, got.length, what);
        for (int i = 0; i < want.length; i++) {
            assertEquals(Float.floatToRawIntBits(want[i]), Float.floatToRawIntBits(got[i]), what + " at " + i + ": " + got[i] + " vs " + want[i]);
        }
    }

    @Test
    void aWeightStoredIn16BitsTakesHalfTheBytesAndReadsBackRounded() {
        for (Precision p : HALVES) {
            Tensor w = Tensor.randn(rng, 1f, 6, 5);
            float[] before = w.toFloatArray();
            assertEquals(120, w.storageBytes());
            w.storeAs(p, "w");
            assertEquals(p, w.precision());
            assertEquals(60, w.storageBytes(), "2 bytes an element");
            float[] after = w.toFloatArray();
            for (int i = 0; i < before.length; i++) {
                assertEquals(HalfFloats.widen(p, HalfFloats.narrow(p, before[i])), after[i], 0f, p + " element " + i);
            }
            w.storeAs(Precision.FLOAT32);
            assertEquals(120, w.storageBytes());
            assertArrayEquals(after, w.toFloatArray(), 0f, "widening back is exact");
        }
    }

    @Test
    void matmulWithA16BitWeightIsTheFloat32MatmulOfTheRoundedWeight() {
        for (Precision p : HALVES) {
            for (boolean transB : new boolean[] {false, true}) {
                int k = 37, n = 19;
                Tensor w = Tensor.randn(rng, 1f, transB ? n : k, transB ? k : n).storeAs(p, "w");
                Tensor wRef = rounded(w);
                float[] xs = Tensor.randn(rng, 1f, 2, 5, k).toFloatArray();
                Tensor x = Tensor.of(xs, 2, 5, k).requiresGrad(true), xRef = Tensor.of(xs, 2, 5, k).requiresGrad(true);
                Tensor y = MatMul.matmul(x, w, false, transB), yRef = MatMul.matmul(xRef, wRef, false, transB);
                String what = p + " x @ W" + (transB ? "^T" : "");
                assertSameBits(yRef.toFloatArray(), y.toFloatArray(), what);
                Tensor dy = Tensor.randn(rng, 1f, y.shape());
                y.backward(dy);
                yRef.backward(dy);
                assertSameBits(xRef.grad().toFloatArray(), x.grad().toFloatArray(), what + ": dX = dY op(W)^T");
                assertNull(w.grad(), "a frozen weight gets no gradient");
            }
            // the weight as the left operand (W @ X), the gradient reaching X through W^T
            Tensor w = Tensor.randn(rng, 1f, 9, 23).storeAs(p, "w");
            float[] xs = Tensor.randn(rng, 1f, 23, 4).toFloatArray();
            Tensor x = Tensor.of(xs, 23, 4).requiresGrad(true), xRef = Tensor.of(xs, 23, 4).requiresGrad(true);
            Tensor y = MatMul.matmul(w, x), yRef = MatMul.matmul(rounded(w), xRef);
            assertSameBits(yRef.toFloatArray(), y.toFloatArray(), p + " W @ X");
            Tensor dy = Tensor.randn(rng, 1f, 9, 4);
            y.backward(dy);
            yRef.backward(dy);
            assertSameBits(xRef.grad().toFloatArray(), x.grad().toFloatArray(), p + " W @ X: dX = W^T dY");
        }
    }

    @Test
    void aReshapeViewOfA16BitWeightFeedsMatmul() {
        // CLIP's patch convolution: a [C, ch, p, p] weight viewed as [C, ch*p*p]
        Tensor w = Tensor.randn(rng, 1f, 4, 3, 2, 2).storeAs(Precision.BFLOAT16, "patch_embedding.weight");
        Tensor x = Tensor.randn(rng, 1f, 5, 12);
        assertSameBits(MatMul.matmul(x, rounded(w).reshape(4, 12), false, true).toFloatArray(),
                MatMul.matmul(x, w.reshape(4, 12), false, true).toFloatArray(), "x @ view(W)^T");
    }

    @Test
    void anEmbeddingLookupFromA16BitTableGivesTheRoundedRows() {
        for (Precision p : HALVES) {
            Tensor table = Tensor.randn(rng, 1f, 11, 6).storeAs(p, "embed_tokens.weight");
            int[] ids = {4, 0, 10, 4, 7, 2};
            Tensor got = Embedding.lookup(table, ids, 2, 3), want = Embedding.lookup(rounded(table), ids, 2, 3);
            assertArrayEquals(new int[] {2, 3, 6}, got.shape());
            assertSameBits(want.toFloatArray(), got.toFloatArray(), p + " lookup");
        }
    }

    @Test
    void anOpThatReadsOnlyFloat32NamesItselfAndTheTensor() {
        Tensor w = Tensor.randn(rng, 1f, 4, 3).storeAs(Precision.BFLOAT16, "model.layers.0.mlp.up_proj.weight");
        Tensor x = Tensor.randn(rng, 1f, 4, 3);
        var e = assertThrows(IllegalArgumentException.class, () -> Arithmetic.add(x, w));
        String msg = e.getMessage();
        assertTrue(msg.startsWith("Arithmetic.binary cannot read model.layers.0.mlp.up_proj.weight [4, 3]"), msg);
        assertTrue(msg.contains("bfloat16") && msg.contains("matrix multiplies and row lookups"), msg);
        var s = assertThrows(IllegalArgumentException.class, () -> Softmax.softmax(w));
        assertTrue(s.getMessage().startsWith("Softmax."), s.getMessage());
        Tensor unnamed = Tensor.randn(rng, 1f, 2, 2).storeAs(Precision.FLOAT16);
        var u = assertThrows(IllegalArgumentException.class, () -> Unary.exp(unnamed));
        assertTrue(u.getMessage().contains("cannot read a tensor [2, 2]: it is held in float16"), u.getMessage());
    }

    @Test
    void only16BitFrozenLeavesExist() {
        Tensor trained = Tensor.randn(rng, 1f, 3, 3).requiresGrad(true);
        var e = assertThrows(IllegalStateException.class, () -> trained.storeAs(Precision.BFLOAT16, "lm_head.weight"));
        assertTrue(e.getMessage().contains("lm_head.weight [3, 3] requires a gradient"), e.getMessage());

        Tensor computed = Arithmetic.scale(trained, 2f);
        var c = assertThrows(IllegalStateException.class, () -> computed.storeAs(Precision.BFLOAT16));
        assertTrue(c.getMessage().contains("was computed by affine"), c.getMessage());

        Tensor frozen = Tensor.randn(rng, 1f, 3, 3).storeAs(Precision.BFLOAT16, "w");
        var g = assertThrows(IllegalStateException.class, () -> frozen.requiresGrad(true));
        assertTrue(g.getMessage().contains("w [3, 3] is held in bfloat16") && g.getMessage().contains("cannot require a gradient"),
                g.getMessage());
        var v = assertThrows(IllegalStateException.class, () -> frozen.reshape(9).storeAs(Precision.FLOAT32));
        assertTrue(v.getMessage().contains("reshape view"), v.getMessage());
    }

    @Test
    void assignRoundsIntoA16BitWeight() {
        Tensor w = Tensor.zeros(2, 3).storeAs(Precision.BFLOAT16, "w");
        Tensor values = Tensor.randn(rng, 1f, 2, 3);
        w.assign(values);
        assertEquals(Precision.BFLOAT16, w.precision());
        float[] v = values.toFloatArray(), got = w.toFloatArray();
        for (int i = 0; i < v.length; i++) assertEquals(HalfFloats.bf16ToF32(HalfFloats.f32ToBf16(v[i])), got[i], 0f);
        // from 16-bit values of the same format: taken as they are
        Tensor other = Tensor.randn(rng, 1f, 2, 3).storeAs(Precision.BFLOAT16);
        w.assign(other);
        assertArrayEquals(other.toFloatArray(), w.toFloatArray(), 0f);
        var e = assertThrows(IllegalArgumentException.class, () -> Arithmetic.add(w, w));
        assertTrue(e.getMessage().contains("cannot read w [2, 3]"), "the weight keeps its name: " + e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> w.assign(Tensor.zeros(3, 2)));
    }
}
