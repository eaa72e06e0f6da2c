package dev.aspo.tensor.cpu;

import dev.aspo.tensor.optim.AdamW;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The AdamW update, fused into one pass over the parameter, gradient and both moments.
 *
 * <pre>
 *   p ──*(1 - lr wd)──────────────────────────────┐
 *   g ──┬──lerp(m, g, 1-b1)──> m ─────────────────┤
 *       └──b2 v + (1-b2) g g──> v ──sqrt/sqrt(bc2) + eps──> denom
 *                                                 └──> p + (-lr/bc1) * m / denom
 * </pre>
 *
 * It follows {@code torch.optim.AdamW}'s single-tensor CPU path operation by operation, so the
 * two agree to the last float bit in most elements: the scalars are worked out in double and
 * rounded to float once (as torch does with Python-float arguments; the step-dependent ones by
 * {@code AdamW.stepScalars}), the first moment is a lerp evaluated as one fused multiply-add, the second moment's {@code addcmul} is a fused
 * multiply-add too (torch 2.x on x86 computes both that way, checked element by element), and
 * the division by {@code sqrt(bc2)} happens before {@code eps} is added.
 */
final class AdamWKernel {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    /** Elements per task: the update is memory-bound, small tensors are not worth a fork. */
    private static final int GRAIN = 1 << 15;

    private AdamWKernel() {}

    /** The update with torch's arguments (the step-dependent scalars worked out here). */
    static void step(float[] p, float[] g, float[] m, float[] v, int n, double lr, double beta1, double beta2,
                     double eps, double weightDecay, int step) {
        float[] sc = new float[3];
        AdamW.stepScalars(sc, 0, lr, weightDecay, beta1, beta2, step);
        step(p, g, m, v, n, sc[0], sc[1], sc[2], beta1, beta2, eps);
    }

    /** The step-dependent scalars {@code decay, bc2Sqrt, negStepSize} as {@link AdamW#stepScalars} gives them. */
    static void step(float[] p, float[] g, float[] m, float[] v, int n, float decay, float bc2Sqrt, float negStepSize,
                     double beta1, double beta2, double eps) {
        // lerp(m, g, w) = m + w (g - m) for small w, g + (w - 1)(g - m) otherwise (exact at w = 1)
        float w = (float) (1 - beta1);
        boolean smallWeight = Math.abs(w) < 0.5f;
        float coeff = smallWeight ? w : w - 1f;
        float b2 = (float) beta2, c2 = (float) (1 - beta2);
        float epsF = (float) eps;
        Parallel.forRange(n, GRAIN, (start, end) ->
                range(p, g, m, v, start, end, decay, coeff, smallWeight, b2, c2, bc2Sqrt, epsF, negStepSize));
    }

    private static void range(float[] p, float[] g, float[] m, float[] v, int start, int end, float decay,
                              float coeff, boolean smallWeight, float b2, float c2, float bc2Sqrt, float eps,
                              float negStepSize) {
        var coeffV = FloatVector.broadcast(F, coeff);
        int i = start;
        for (int upper = start + F.loopBound(end - start); i < upper; i += F.length()) {
            var gv = FloatVector.fromArray(F, g, i);
            var mv = FloatVector.fromArray(F, m, i);
            var vv = FloatVector.fromArray(F, v, i);
            var pv = FloatVector.fromArray(F, p, i).mul(decay);
            mv = gv.sub(mv).fma(coeffV, smallWeight ? mv : gv);
            vv = gv.mul(c2).fma(gv, vv.mul(b2));
            var denom = vv.sqrt().div(bc2Sqrt).add(eps);
            pv = pv.add(mv.mul(negStepSize).div(denom));
            mv.intoArray(m, i);
            vv.intoArray(v, i);
            pv.intoArray(p, i);
        }
        for (; i < end; i++) {   // the same operations, one element at a time
            float gi = g[i];
            float mi = Math.fma(gi - m[i], coeff, smallWeight ? m[i] : gi);
            float vi = Math.fma(c2 * gi, gi, v[i] * b2);
            float denom = (float) Math.sqrt(vi) / bc2Sqrt + eps;
            m[i] = mi;
            v[i] = vi;
            p[i] = p[i] * decay + negStepSize * mi / denom;
        }
    }
}
