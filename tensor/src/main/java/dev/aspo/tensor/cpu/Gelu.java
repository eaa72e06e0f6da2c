package dev.aspo.tensor.cpu;

import static dev.aspo.tensor.cpu.VectorMath.F;
import static dev.aspo.tensor.cpu.VectorMath.L;
import static jdk.incubator.vector.VectorOperators.ABS;
import static jdk.incubator.vector.VectorOperators.LT;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;

/**
 * The exact GELU {@code y = x Phi(x)}, {@code y' = Phi(x) + x phi(x)}, as vector loops: the
 * standard normal CDF Phi in float arithmetic, to a few 1e-7 relative (the scalar definition in
 * {@link ElementwiseKernels#apply} evaluates {@link Erf} in double at ~20 ns per element; this runs
 * at ~1 ns).
 *
 * <pre>
 *   z = x / sqrt 2
 *   |z| &lt; 1/2:  Phi(x)  = 0.5 + 0.5 z P(z^2)                   P: erf's Taylor series, 8 terms
 *   otherwise:   Phi(-a) = 0.5 erfc(a / sqrt 2)                  a = |x|, and Phi(a) = 1 - Phi(-a)
 *                        = exp(-x^2/2) R(t) / (sqrt 2 a)          R(z) = z exp(z^2) erfc(z), in
 *                                                                t = 1 / (1 + z/2), Chebyshev, degree 10
 * </pre>
 *
 * The core stops at |z| = 1/2 so that {@code 0.5 + 0.5 erf} never cancels more than one bit. R is
 * nearly flat (0.27 to 0.56 on z in [0.5, 14.2]), so float evaluation loses little; its
 * coefficients are interpolated here at class load from {@link Erf#erfcx} (error 3e-9).
 * {@code exp(-x^2/2)} is taken from {@code x*x} split by an fma into its float part and rounding
 * error, which keeps the tail's relative accuracy down to float's underflow. Inputs are clamped
 * to |x| &lt;= 20, beyond which Phi is exactly 0 or 1 in float.
 */
final class Gelu {
    private static final float SQRT2 = (float) Math.sqrt(2), INV_SQRT2 = (float) (1 / Math.sqrt(2));
    /** |x| below which the Taylor core is used: |z| &lt; 1/2. */
    private static final float CORE_LIMIT = (float) (Math.sqrt(2) / 2);
    private static final float INV_SQRT_2PI = (float) (1 / Math.sqrt(2 * Math.PI));
    private static final float CLAMP = 20f;
    /** erf(z) / z = sum_n TAYLOR[n] z^(2n); the 9th term is below 1e-9 for |z| &lt; 1/2. */
    private static final float[] TAYLOR = new float[8];
    /** R on t in [T0, T1], i.e. z from 14.2 down to 0.5. */
    private static final double T0 = 1 / (1 + 0.5 * 14.2), T1 = 1 / (1 + 0.25);
    private static final float[] CHEB = new float[11];

    static {
        double factorial = 1;
        for (int n = 0; n < TAYLOR.length; n++) {
            if (n > 0) factorial *= n;
            TAYLOR[n] = (float) (2 / Math.sqrt(Math.PI) * ((n & 1) == 0 ? 1 : -1) / (factorial * (2 * n + 1)));
        }
        int n = CHEB.length;
        double[] f = new double[n];
        for (int j = 0; j < n; j++) {
            double t = (T0 + T1) / 2 + (T1 - T0) / 2 * Math.cos(Math.PI * (j + 0.5) / n);
            double z = 2 * (1 / t - 1);
            f[j] = z * Erf.erfcx(z);
        }
        for (int k = 0; k < n; k++) {
            double s = 0;
            for (int j = 0; j < n; j++) s += f[j] * Math.cos(Math.PI * k * (j + 0.5) / n);
            CHEB[k] = (float) ((k == 0 ? 1.0 : 2.0) * s / n);
        }
    }

    private Gelu() {}

    static int forward(float[] x, float[] y, int i, int e) {
        for (; i <= e - L; i += L) {
            FloatVector xv = FloatVector.fromArray(F, x, i);
            xv.mul(phi(xv, gaussian(clamp(xv)))).intoArray(y, i);
        }
        return i;
    }

    static int backward(float[] x, float[] gy, float[] gx, int i, int e) {
        for (; i <= e - L; i += L) {
            FloatVector xv = FloatVector.fromArray(F, x, i), xc = clamp(xv), g = gaussian(xc);
            FloatVector d = xc.mul(g).mul(INV_SQRT_2PI).add(phi(xv, g));
            FloatVector.fromArray(F, gy, i).fma(d, FloatVector.fromArray(F, gx, i)).intoArray(gx, i);
        }
        return i;
    }

    private static FloatVector clamp(FloatVector x) {
        return x.max(-CLAMP).min(CLAMP);
    }

    /** {@code exp(-x^2/2)}: x*x = hi + lo exactly (fma), exp(-(hi+lo)/2) ~ exp(-hi/2) (1 - lo/2). */
    private static FloatVector gaussian(FloatVector x) {
        FloatVector hi = x.mul(x), lo = x.fma(x, hi.neg());
        return VectorMath.exp(hi.mul(-0.5f)).mul(lo.mul(-0.5f).add(1f));
    }

    /** Phi(x), given {@code g = exp(-xc^2/2)} of the clamped x. */
    private static FloatVector phi(FloatVector x, FloatVector g) {
        FloatVector xc = clamp(x), a = xc.lanewise(ABS);
        // the core, |z| < 1/2
        FloatVector z = xc.mul(INV_SQRT2), u = z.mul(z), p = FloatVector.broadcast(F, TAYLOR[TAYLOR.length - 1]);
        for (int n = TAYLOR.length - 2; n >= 0; n--) p = p.fma(u, FloatVector.broadcast(F, TAYLOR[n]));
        FloatVector core = z.mul(p).mul(0.5f).add(0.5f);
        // the tails: Phi(-a) = g R(t) / (sqrt 2 a)
        FloatVector t = a.mul(0.5f * INV_SQRT2).add(1f), one = FloatVector.broadcast(F, 1f);
        t = one.div(t);
        FloatVector w = t.mul((float) (2 / (T1 - T0))).sub((float) ((T0 + T1) / (T1 - T0))), w2 = w.add(w);
        FloatVector b1 = FloatVector.zero(F), b2 = FloatVector.zero(F);
        for (int k = CHEB.length - 1; k > 0; k--) {
            FloatVector b0 = w2.fma(b1, b2.neg()).add(CHEB[k]);
            b2 = b1;
            b1 = b0;
        }
        FloatVector r = w.fma(b1, b2.neg()).add(CHEB[0]);
        FloatVector lower = g.mul(r).div(a.mul(SQRT2));             // Phi(-a)
        FloatVector tail = lower.blend(one.sub(lower), xc.compare(LT, 0f).not());
        VectorMask<Float> inCore = a.compare(LT, CORE_LIMIT);
        return tail.blend(core, inCore);
    }
}
