package dev.aspo.tensor.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.aspo.tensor.UnaryOp;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The same kernel on the same inputs gives the same bits cold (interpreter / C1) and after a heavy
 * warm-up (C2): a resumed training run starts in a cold JVM and must reproduce the uninterrupted
 * one bit for bit. This broke when the kernels used the Vector API's {@code lanewise(EXP)}, which
 * C2 compiles to Intel SVML while cold code computes {@code Math.exp} lane by lane.
 *
 * <p>Each test computes its result once first, then runs the kernel 20k times so that C2 compiles
 * it, then compares. It can only detect a tier-dependent result when the JIT actually compiles
 * the kernel during the test: if another test in the same JVM has already warmed the kernel
 * up, both results come from compiled code and the test passes whatever the code does (surefire
 * runs this class in the suite's shared JVM; run it alone, e.g.
 * {@code -Dtest=JitDeterminismTest}, for a genuinely cold start). Run alone against the kernels
 * that used {@code lanewise(EXP)} (x86-64, JDK 17), the softmax and attention tests failed with
 * one-ulp differences.
 */
class JitDeterminismTest {
    private static final int WARMUP = 20_000;

    private static float[] gaussian(Random rng, int n, double std) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (rng.nextGaussian() * std);
        return v;
    }

    private static void assertSameBits(float[] cold, float[] warm, String what) {
        for (int i = 0; i < cold.length; i++) {
            assertEquals(Float.floatToIntBits(cold[i]), Float.floatToIntBits(warm[i]),
                    what + ": element " + i + " was " + cold[i] + " cold, " + warm[i] + " after warm-up");
        }
    }

    @Test
    void softmaxColdEqualsWarm() {
        int rows = 3, cols = 4 * VectorMath.L + 3;
        float[] x = gaussian(new Random(1), rows * cols, 4), cold = new float[x.length], warm = new float[x.length];
        SoftmaxKernels.softmax(x, cold, rows, cols, false);
        for (int i = 0; i < WARMUP; i++) SoftmaxKernels.softmax(x, warm, rows, cols, false);
        SoftmaxKernels.softmax(x, warm, rows, cols, false);
        assertSameBits(cold, warm, "softmax");
    }

    @Test
    void attentionForwardColdEqualsWarm() {
        int batch = 1, seq = 5, keySeq = 2 * VectorMath.L + 1, qHeads = 2, kvHeads = 1, headDim = 8;
        Random rng = new Random(2);
        float[] q = gaussian(rng, batch * seq * qHeads * headDim, 1);
        float[] k = gaussian(rng, batch * keySeq * kvHeads * headDim, 1);
        float[] v = gaussian(rng, batch * keySeq * kvHeads * headDim, 1);
        float[][] out = new float[2][q.length], probs = new float[2][batch * qHeads * seq * keySeq];
        float scale = (float) (1 / Math.sqrt(headDim));
        AttentionKernel.forward(q, k, v, out[0], probs[0], null, batch, seq, keySeq, qHeads, kvHeads, headDim, scale, true);
        for (int i = 0; i <= WARMUP; i++) {
            AttentionKernel.forward(q, k, v, out[1], probs[1], null, batch, seq, keySeq, qHeads, kvHeads, headDim, scale, true);
        }
        assertSameBits(probs[0], probs[1], "attention probabilities");
        assertSameBits(out[0], out[1], "attention output");
    }

    /** The elementwise ops built on exp / log / tanh, forward. */
    @Test
    void transcendentalUnaryOpsColdEqualsWarm() {
        UnaryOp[] ops = {UnaryOp.EXP, UnaryOp.LOG, UnaryOp.TANH, UnaryOp.SIGMOID, UnaryOp.SOFTPLUS,
                         UnaryOp.GELU_TANH, UnaryOp.SILU};
        int n = 3 * VectorMath.L + 5;
        float[] x = gaussian(new Random(3), n, 3);
        for (UnaryOp op : ops) {
            float[] in = x.clone();
            if (op == UnaryOp.LOG) for (int i = 0; i < n; i++) in[i] = Math.abs(in[i]);
            float[] cold = new float[n], warm = new float[n];
            ElementwiseKernels.unary(op, in, cold, n);
            for (int i = 0; i <= WARMUP / 4; i++) ElementwiseKernels.unary(op, in, warm, n);
            assertSameBits(cold, warm, op.toString());
        }
    }
}
