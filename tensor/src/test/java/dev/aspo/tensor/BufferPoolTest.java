package dev.aspo.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.aspo.tensor.ops.Arithmetic;
import dev.aspo.tensor.ops.Attention;
import dev.aspo.tensor.ops.CrossEntropy;
import dev.aspo.tensor.ops.Index;
import dev.aspo.tensor.ops.LayerNorm;
import dev.aspo.tensor.ops.MatMul;
import dev.aspo.tensor.ops.Reductions;
import dev.aspo.tensor.ops.RmsNorm;
import dev.aspo.tensor.ops.Rope;
import dev.aspo.tensor.ops.Shapes;
import dev.aspo.tensor.ops.Softmax;
import dev.aspo.tensor.ops.Unary;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * A step scope hands the previous step's graph buffers out again: a second identical step takes no
 * new buffer, computes bit for bit what fresh buffers give, and never overwrites what a caller kept
 * (a detach()ed tensor); a graph tensor used after its scope fails loudly instead of reading
 * another step's values.
 */
class BufferPoolTest {
    /**
     * A small graph with a matmul, recorded reshape views, a broadcast add, attention and RMS norm
     * (which save buffers for their backward), softmax, cross-entropy and a reduction.
     */
    private static final class Net {
        final Tensor x, w1, b1, g, w2;
        Tensor hidden, probs;

        Net(long seed) {
            Random rng = new Random(seed);
            x = Tensor.uniform(rng, -1, 1, 6, 8);
            w1 = Tensor.uniform(rng, -0.5f, 0.5f, 8, 16).requiresGrad(true);
            b1 = Tensor.uniform(rng, -0.5f, 0.5f, 16).requiresGrad(true);
            g = Tensor.uniform(rng, 0.5f, 1.5f, 16).requiresGrad(true);
            w2 = Tensor.uniform(rng, -0.5f, 0.5f, 16, 5).requiresGrad(true);
        }

        /** Forward, loss value, backward; the leaves' gradients accumulate over steps. */
        float step() {
            hidden = Unary.tanh(Arithmetic.add(MatMul.matmul(x, w1), b1));
            Tensor seq = hidden.reshape(2, 3, 16);
            Tensor attended = Attention.apply(seq, seq, seq, 2, 2, true, null).reshape(96).reshape(6, 16);
            Tensor logits = MatMul.matmul(RmsNorm.apply(attended, g, 1e-5f), w2);
            probs = Softmax.softmax(logits);
            Tensor loss = Arithmetic.add(Reductions.sum(Arithmetic.mul(probs, Arithmetic.scale(probs, 3f))),
                    CrossEntropy.mean(logits, new int[] {0, 1, 2, 3, 4, 0}));
            float value = loss.item();
            loss.backward();
            return value;
        }

        float[][] grads() {
            return new float[][] {w1.grad().toFloatArray(), b1.grad().toFloatArray(), g.grad().toFloatArray(),
                w2.grad().toFloatArray()};
        }
    }

    @Test
    void secondStepTakesNoNewBufferAndMatchesFreshBuffersBitForBit() {
        Net plain = new Net(11), pooled = new Net(11);
        BufferPool pool = BufferPool.ofThisThread();
        BufferPool.clear();                     // whatever earlier tests on this thread left
        long[] fresh = new long[3];
        for (int s = 0; s < 3; s++) {
            float want = plain.step();
            long before = pool.freshAllocations;
            float got;
            try (var scope = BufferPool.step()) {
                got = pooled.step();
            }
            fresh[s] = pool.freshAllocations - before;
            assertEquals(Float.floatToIntBits(want), Float.floatToIntBits(got), "loss of step " + s);
            float[][] gw = plain.grads(), gg = pooled.grads();
            for (int i = 0; i < gw.length; i++) assertArrayEquals(gw[i], gg[i], 0f, "gradient " + i + " after step " + s);
        }
        assertTrue(fresh[0] > 0, "the first step fills the pool from the heap");
        assertEquals(0, fresh[1], "the second step takes every buffer from the pool");
        assertEquals(0, fresh[2], "and so does the third");
    }

    /**
     * Every op that takes an unfilled buffer ({@link Tensor#unfilled}, a saved buffer, a gradient
     * the GEMM overwrites), with odd shapes, masks that hide every key from some queries, broadcast
     * operands and a tensor used twice (so that its gradient is first written, then added to).
     */
    private static final class Overwriters {
        final Tensor w, wt, g, bias, emb, wb;

        Overwriters() {
            Random rng = new Random(21);
            w = Tensor.uniform(rng, -0.5f, 0.5f, 12, 12).requiresGrad(true);
            wt = Tensor.uniform(rng, -0.5f, 0.5f, 7, 12).requiresGrad(true);
            g = Tensor.uniform(rng, 0.5f, 1.5f, 12).requiresGrad(true);
            bias = Tensor.uniform(rng, -0.5f, 0.5f, 12).requiresGrad(true);
            emb = Tensor.uniform(rng, -1, 1, 9, 12).requiresGrad(true);
            wb = Tensor.uniform(rng, -0.5f, 0.5f, 3, 12, 5).requiresGrad(true);
        }

        /** Forward and backward on inputs drawn from {@code seed}; returns the loss, outputs and gradients. */
        List<float[]> step(long seed) {
            Random rng = new Random(seed);
            Tensor x = Tensor.uniform(rng, -1, 1, 2, 3, 12);                              // [B, T, 12]
            int[] tokens = {rng.nextInt(9), 3, rng.nextInt(9), 0, 8, rng.nextInt(9)};
            Tensor e = Index.selectRows(emb, tokens).reshape(2, 3, 12);
            Tensor h = Arithmetic.add(MatMul.matmul(Arithmetic.mul(x, e), w), bias);      // flattened GEMM, broadcast add
            Tensor r = Rope.apply(h.reshape(2, 3, 2, 6), new int[] {0, 1, 2, 5, 6, 7}, 10000f).reshape(2, 3, 12);
            float[] keyMask = {0, 1, 1, 1, 0, 1};                                          // query 0 of batch 0 sees nothing
            Tensor att = Attention.apply(r, h, Unary.silu(h), 2, 2, true, keyMask, 0.7f);
            Tensor n1 = RmsNorm.apply(att, g, 1e-5f);
            Tensor n2 = LayerNorm.apply(Arithmetic.affine(n1, 1.5f, -0.25f), g, bias, 1e-5f);
            Tensor lin = MatMul.addMatmul(Shapes.slice(n2, 2, 0, 7), n2, wt, true);                // c + a b^T, c a slice of a
            Tensor perm = Shapes.permute(lin, 1, 0, 2);                                    // [3, 2, 7]
            Tensor cat = Shapes.concat(2, perm, Shapes.slice(perm, 2, 2, 5));              // [3, 2, 10]
            Tensor batched = MatMul.matmul(MatMul.matmul(cat, cat, true, false), cat, false, true);   // transA, transB
            Tensor shared = MatMul.matmul(Shapes.slice(n2, 1, 0, 1).reshape(2, 12), wb);           // a [2,12] broadcast over wb's batch
            Tensor sm = Softmax.logSoftmax(Arithmetic.sub(batched, Unary.tanh(batched)));
            Tensor loss = Arithmetic.add(Reductions.sum(Arithmetic.mul(sm, sm)), Reductions.sum(Unary.square(shared)));
            List<float[]> out = new ArrayList<>(List.of(loss.toFloatArray(), att.toFloatArray(), lin.toFloatArray(),
                    cat.toFloatArray(), sm.toFloatArray()));
            loss.backward();
            for (Tensor p : List.of(w, wt, g, bias, emb, wb)) {
                float[] grad = new float[p.numel()];       // read without grad(), so zeroGrad() keeps the buffer for the next step
                p.backend().download(p.gradStorage(), 0, grad, grad.length);
                out.add(grad);
                p.zeroGrad();
            }
            return out;
        }
    }

    @Test
    void aBufferHandedOutUnfilledIsWrittenInFullByItsOp() {
        Overwriters plain = new Overwriters(), pooled = new Overwriters();
        BufferPool pool = BufferPool.ofThisThread();
        BufferPool.clear();
        try {
            for (int s = 0; s < 3; s++) {
                List<float[]> want = plain.step(100 + s);
                pool.poisonUnfilled = s > 0;    // every unfilled buffer taken again holds NaN until its op writes it
                long before = pool.freshAllocations;
                List<float[]> got;
                try (var scope = BufferPool.step()) {
                    got = pooled.step(100 + s);
                }
                if (s > 0) assertEquals(before, pool.freshAllocations, "step " + s + " reuses every buffer");
                for (int i = 0; i < want.size(); i++) {
                    float[] a = want.get(i), b = got.get(i);
                    assertEquals(a.length, b.length);
                    for (int j = 0; j < a.length; j++) {
                        assertEquals(Float.floatToRawIntBits(a[j]), Float.floatToRawIntBits(b[j]),
                                "step " + s + ", result " + i + ", element " + j + ": " + a[j] + " fresh, " + b[j] + " pooled");
                    }
                }
            }
        } finally {
            pool.poisonUnfilled = false;
        }
    }

    @Test
    void aKeptTensorKeepsItsValuesAndAGraphTensorUsedAfterItsStepFails() {
        Net net = new Net(5);
        Tensor kept, graphTensor;
        float[] keptValues, probsAfterBackward;
        try (var scope = BufferPool.step()) {
            net.step();
            kept = net.hidden.detach();          // detach() inside the step: the buffer stays the caller's
            keptValues = kept.toFloatArray();
            graphTensor = net.probs;
            probsAfterBackward = graphTensor.toFloatArray();   // a graph tensor is readable until the scope closes
        }
        Net other = new Net(6);                  // other weights: reusing the kept buffer would change its values
        for (int s = 0; s < 2; s++) {
            try (var scope = BufferPool.step()) {
                other.step();
            }
        }
        assertArrayEquals(keptValues, kept.toFloatArray(), 0f, "the detached tensor still holds step 1's values");
        assertEquals(6 * 5, probsAfterBackward.length);
        IllegalStateException e = assertThrows(IllegalStateException.class, graphTensor::toFloatArray);
        assertTrue(e.getMessage().contains("BufferPool.step()"), e.getMessage());
        assertThrows(IllegalStateException.class, () -> graphTensor.reshape(30).toFloatArray());
        assertTrue(graphTensor.toString().contains("handed back"), "toString (debuggers, messages) does not throw");
    }

    @Test
    void theBuffersKeptBetweenStepsGiveWayWhenTheHeapRunsShort() {
        BufferPool.clear();
        Runtime rt = Runtime.getRuntime();
        System.gc();
        long free = rt.maxMemory() - (rt.totalMemory() - rt.freeMemory());
        int n = (int) Math.min(Integer.MAX_VALUE - 8, free * 3 / 10 / Float.BYTES);
        Tensor x = Tensor.of(new float[] {1f}, 1).requiresGrad(true);
        try (var scope = BufferPool.step()) {
            Tensor y = Arithmetic.add(x, Tensor.zeros(n));       // an output of n floats and, in the backward, its gradient
            Reductions.sum(y).backward();
        }
        long kept = BufferPool.floatsKeptBetweenScopes();
        assertTrue(kept >= 2L * n && kept < 2L * n + 8, "the step's output and gradient (and the sum's) wait for the next step: " + kept);
        // 60 % of the free heap in 32 MB arrays: room only if the pool's 60 % gives way
        java.util.List<float[]> filler = new java.util.ArrayList<>();
        try {
            for (long got = 0; got < 2L * n; got += 8 << 20) filler.add(new float[8 << 20]);
        } catch (OutOfMemoryError e) {
            filler.clear();
            BufferPool.clear();
            throw new AssertionError("the buffers kept between steps did not give way to the rest of the program", e);
        }
        assertEquals(0, BufferPool.floatsKeptBetweenScopes(), "the collector took them rather than fail");
        assertTrue(filler.size() > 0);
        filler.clear();
        x.zeroGrad();
        try (var scope = BufferPool.step()) {                  // the next step simply allocates afresh
            Tensor y = Arithmetic.add(x, Tensor.of(new float[] {2f, 3f}, 2));
            Reductions.sum(y).backward();
        }
        assertEquals(2f, x.grad().toFloatArray()[0]);
    }

    @Test
    void aBufferNothingRefersToIsCollectedBeforeItsScopeCloses() throws InterruptedException {
        java.lang.ref.WeakReference<Storage> dead;
        try (var scope = BufferPool.step()) {
            Tensor x = Tensor.uniform(new Random(1), -1, 1, 64, 64);
            Tensor y = Unary.tanh(MatMul.matmul(x, x));          // no gradient wanted: no graph keeps it
            dead = new java.lang.ref.WeakReference<>(y.storage());
            y = null;
            for (int i = 0; i < 20 && dead.get() != null; i++) {
                System.gc();
                Thread.sleep(10);
            }
            assertTrue(dead.get() == null, "the scope let the collector take a buffer no tensor holds");
        }
    }

    @Test
    void clearDropsTheFreeBuffers() {
        Net net = new Net(9);
        BufferPool pool = BufferPool.ofThisThread();
        BufferPool.clear();                     // whatever earlier tests on this thread left
        long[] fresh = new long[3];
        for (int s = 0; s < 3; s++) {
            if (s == 2) BufferPool.clear();
            long before = pool.freshAllocations;
            try (var scope = BufferPool.step()) {
                net.step();
            }
            fresh[s] = pool.freshAllocations - before;
        }
        assertEquals(0, fresh[1]);
        // the 4 leaves keep (and accumulate into) their gradients: every other buffer is taken anew
        assertEquals(fresh[0] - 4, fresh[2], "after clear() the step takes its buffers from the backend again");
    }

    @Test
    void outsideAScopeNothingIsPooledOrReleased() {
        Net net = new Net(3);
        BufferPool pool = BufferPool.ofThisThread();
        long before = pool.freshAllocations;
        net.step();
        float[] probs = net.probs.toFloatArray();
        net.step();
        assertEquals(before, pool.freshAllocations);
        assertEquals(probs.length, net.probs.toFloatArray().length, "graph tensors stay readable without a scope");
    }
}
