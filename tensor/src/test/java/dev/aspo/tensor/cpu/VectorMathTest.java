package dev.aspo.tensor.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.Random;
import java.util.function.DoubleUnaryOperator;
import java.util.function.UnaryOperator;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

/**
 * VectorMath's exp, log, log1p and tanh: accuracy in ulps against {@code Math} in double over a
 * sweep of the whole float range (every 16411th bit pattern, 262k values, plus a dense sweep of the
 * interesting interval of each function), special values, and bit equality of the vector
 * functions with their scalar twins.
 *
 * <p>Measured in one-off runs (too slow for the suite), max errors against Math in double: exp
 * 0.94 ulp over all 2^32 floats; log 0.81, log1p 1.44, tanh 1.56 over every 13th bit pattern
 * (330M values each); no vector/twin mismatch and no wrong special value in any of them. The
 * bounds asserted here are those rounded up.
 */
class VectorMathTest {
    private static final int L = VectorMath.L;

    private interface VectorFn {
        FloatVector apply(FloatVector x);
    }

    /** f over {@code x} through the vector function, whole vectors (x.length is a multiple of L). */
    private static float[] vector(VectorFn f, float[] x) {
        float[] y = new float[x.length];
        for (int i = 0; i < x.length; i += L) f.apply(FloatVector.fromArray(VectorMath.F, x, i)).intoArray(y, i);
        return y;
    }

    /** Every {@code step}-th float bit pattern, padded with zeros to whole vectors. */
    private static float[] sweep(int step) {
        int n = (int) ((1L << 32) / step) + 1;
        float[] x = new float[(n + L - 1) / L * L];
        for (int i = 0; i < n; i++) x[i] = Float.intBitsToFloat((int) ((long) i * step));
        return x;
    }

    /** Every float in [lo, hi] with a stride in bit patterns (lo, hi of the same sign). */
    private static float[] dense(float lo, float hi, int step) {
        int a = Float.floatToRawIntBits(lo), b = Float.floatToRawIntBits(hi);
        if (a > b) {
            int t = a;
            a = b;
            b = t;
        }
        int n = (b - a) / step + 1;
        float[] x = new float[(n + L - 1) / L * L];
        for (int i = 0; i < n; i++) x[i] = Float.intBitsToFloat(a + i * step);
        return x;
    }

    /**
     * Error of y against the exact {@code ref} in units of the float ulp at ref (the ulp of the
     * smallest subnormal where ref is subnormal). A result that should overflow, underflow to 0
     * or be NaN must be exactly that.
     */
    private static double ulpError(float x, float y, double ref, String name) {
        float rf = (float) ref;
        if (Double.isNaN(ref) || Float.isInfinite(rf)) {
            if (Float.floatToIntBits(y) != Float.floatToIntBits(rf)) fail(name + "(" + x + ") = " + y + ", expected " + rf);
            return 0;
        }
        if (Float.isInfinite(y) || Float.isNaN(y)) fail(name + "(" + x + ") = " + y + ", expected " + ref);
        double ulp = Math.ulp(rf);
        // just below a power of two, the float spacing is half the ulp of the power
        if (Math.abs(rf) >= Float.MIN_NORMAL && Math.abs(ref) < Math.abs(rf) && rf == Math.scalb(Math.signum(rf), Math.getExponent(rf))) {
            ulp /= 2;
        }
        return Math.abs(y - ref) / ulp;
    }

    /** Max ulp error over x, after checking the vector function against its scalar twin bit for bit. */
    private static double check(String name, VectorFn vf, UnaryOperator<Float> twin, DoubleUnaryOperator ref, float[] x) {
        float[] y = vector(vf, x);
        double max = 0;
        for (int i = 0; i < x.length; i++) {
            float s = twin.apply(x[i]);
            if (Float.floatToIntBits(s) != Float.floatToIntBits(y[i])) {
                fail(name + "(" + x[i] + "): vector gives " + y[i] + ", scalar twin " + s);
            }
            max = Math.max(max, ulpError(x[i], y[i], ref.applyAsDouble(x[i]), name));
        }
        return max;
    }

    private static void assertUlps(String name, double bound, double measured) {
        assertTrue(measured <= bound, name + ": max error " + measured + " ulp > " + bound);
    }

    @Test
    void expAccuracyAndTwin() {
        float[] all = sweep(16411);
        assertUlps("exp", 1, check("exp", VectorMath::exp, VectorMath::exp, Math::exp, all));
        // the whole finite range densely, both signs (subnormal results included)
        assertUlps("exp", 1, check("exp", VectorMath::exp, VectorMath::exp, Math::exp, dense(0x1p-30f, 89f, 401)));
        assertUlps("exp", 1, check("exp", VectorMath::exp, VectorMath::exp, Math::exp, dense(-0x1p-30f, -105f, 401)));
    }

    @Test
    void logAccuracyAndTwin() {
        assertUlps("log", 1, check("log", VectorMath::log, VectorMath::log, Math::log, sweep(16411)));
        assertUlps("log", 1, check("log", VectorMath::log, VectorMath::log, Math::log, dense(0.5f, 2f, 61)));
        assertUlps("log", 1, check("log", VectorMath::log, VectorMath::log, Math::log, dense(Float.MIN_VALUE, 0x1p-120f, 97)));
    }

    @Test
    void log1pAccuracyAndTwin() {
        assertUlps("log1p", 1.5, check("log1p", VectorMath::log1p, VectorMath::log1p, Math::log1p, sweep(16411)));
        assertUlps("log1p", 1.5, check("log1p", VectorMath::log1p, VectorMath::log1p, Math::log1p, dense(-0x1p-30f, -1f, 997)));
        assertUlps("log1p", 1.5, check("log1p", VectorMath::log1p, VectorMath::log1p, Math::log1p, dense(0x1p-30f, 2f, 997)));
    }

    @Test
    void tanhAccuracyAndTwin() {
        assertUlps("tanh", 2, check("tanh", VectorMath::tanh, VectorMath::tanh, Math::tanh, sweep(16411)));
        // around the switch from the series to the exp form, and the exp form's range
        assertUlps("tanh", 2, check("tanh", VectorMath::tanh, VectorMath::tanh, Math::tanh, dense(0.3f, 1f, 29)));
        assertUlps("tanh", 2, check("tanh", VectorMath::tanh, VectorMath::tanh, Math::tanh, dense(-0.3f, -1f, 29)));
        assertUlps("tanh", 2, check("tanh", VectorMath::tanh, VectorMath::tanh, Math::tanh, dense(1f, 10f, 127)));
    }

    /** Random inputs of ordinary magnitudes (what kernels see), vector against twin bit for bit. */
    @Test
    void vectorAndScalarTwinAgreeOnRandomInputs() {
        Random rng = new Random(5);
        float[] x = new float[L * 4096];
        for (int i = 0; i < x.length; i++) x[i] = (float) (rng.nextGaussian() * (i % 3 == 0 ? 1 : i % 3 == 1 ? 10 : 60));
        float[] pos = new float[x.length];
        for (int i = 0; i < x.length; i++) pos[i] = Math.abs(x[i]);
        check("exp", VectorMath::exp, VectorMath::exp, Math::exp, x);
        check("log", VectorMath::log, VectorMath::log, Math::log, pos);
        check("log1p", VectorMath::log1p, VectorMath::log1p, Math::log1p, x);
        check("tanh", VectorMath::tanh, VectorMath::tanh, Math::tanh, x);
    }

    /** {@code f} on one value through a full vector, which must agree with the scalar twin. */
    private static float one(VectorFn vf, UnaryOperator<Float> twin, float x) {
        float[] in = new float[L];
        java.util.Arrays.fill(in, x);
        float y = vector(vf, in)[L - 1];
        assertEquals(Float.floatToIntBits(twin.apply(x)), Float.floatToIntBits(y), "twin at " + x);
        return y;
    }

    private static void assertBits(float expected, float actual, String what) {
        assertEquals(Float.floatToIntBits(expected), Float.floatToIntBits(actual), what + ": " + actual + ", expected " + expected);
    }

    @Test
    void expSpecialValues() {
        VectorFn f = VectorMath::exp;
        UnaryOperator<Float> t = VectorMath::exp;
        assertBits(1f, one(f, t, 0f), "exp(0)");
        assertBits(1f, one(f, t, -0f), "exp(-0)");
        assertBits(Float.POSITIVE_INFINITY, one(f, t, Float.POSITIVE_INFINITY), "exp(inf)");
        assertBits(0f, one(f, t, Float.NEGATIVE_INFINITY), "exp(-inf)");
        assertBits(Float.NaN, one(f, t, Float.NaN), "exp(NaN)");
        assertBits(Float.POSITIVE_INFINITY, one(f, t, Float.MAX_VALUE), "exp(MAX)");
        assertBits(0f, one(f, t, -Float.MAX_VALUE), "exp(-MAX)");
        // the floats around the overflow threshold ln(MAX_VALUE (1 + 2^-25)) and the underflow
        // threshold ln(2^-150) (below it e^x rounds to 0): correctly rounded, and on the right side
        for (double edge : new double[] {Math.log(Float.MAX_VALUE) + 0x1p-25, -150 * Math.log(2)}) {
            float x = Math.nextDown(Math.nextDown((float) edge));
            for (int i = 0; i < 5; i++, x = Math.nextUp(x)) assertBits((float) Math.exp(x), one(f, t, x), "exp(" + x + ")");
        }
        float over = (float) (Math.log(Float.MAX_VALUE) + 0x1p-25), under = (float) (-150 * Math.log(2));
        assertTrue(Float.isFinite(one(f, t, Math.nextDown(Math.nextDown(over)))), "exp below overflow");
        assertBits(Float.POSITIVE_INFINITY, one(f, t, Math.nextUp(Math.nextUp(over))), "exp above overflow");
        assertBits(0f, one(f, t, Math.nextDown(Math.nextDown(under))), "exp below underflow");
        assertBits(Float.MIN_VALUE, one(f, t, Math.nextUp(Math.nextUp(under))), "exp above underflow");
        // subnormal results and subnormal / tiny arguments
        for (float x : new float[] {-87.4f, -90f, -95.5f, -100f, -103f}) {
            assertTrue(Math.abs(one(f, t, x) - Math.exp(x)) <= Float.MIN_VALUE, "exp(" + x + ") subnormal");
        }
        assertBits(1f, one(f, t, Float.MIN_VALUE), "exp(MIN_VALUE)");
        assertBits(1f, one(f, t, -Float.MIN_VALUE), "exp(-MIN_VALUE)");
    }

    @Test
    void logSpecialValues() {
        VectorFn f = VectorMath::log;
        UnaryOperator<Float> t = VectorMath::log;
        assertBits(Float.NEGATIVE_INFINITY, one(f, t, 0f), "log(0)");
        assertBits(Float.NEGATIVE_INFINITY, one(f, t, -0f), "log(-0)");
        assertBits(Float.NaN, one(f, t, -1f), "log(-1)");
        assertBits(Float.NaN, one(f, t, Float.NEGATIVE_INFINITY), "log(-inf)");
        assertBits(Float.NaN, one(f, t, -Float.MIN_VALUE), "log(-MIN_VALUE)");
        assertBits(Float.POSITIVE_INFINITY, one(f, t, Float.POSITIVE_INFINITY), "log(inf)");
        assertBits(Float.NaN, one(f, t, Float.NaN), "log(NaN)");
        assertBits(0f, one(f, t, 1f), "log(1)");
        assertBits((float) Math.log(Float.MIN_VALUE), one(f, t, Float.MIN_VALUE), "log(MIN_VALUE)");
        assertBits((float) Math.log(Float.MAX_VALUE), one(f, t, Float.MAX_VALUE), "log(MAX)");
        assertBits((float) Math.log(Float.MIN_NORMAL), one(f, t, Float.MIN_NORMAL), "log(MIN_NORMAL)");

        f = VectorMath::log1p;
        t = VectorMath::log1p;
        assertBits(0f, one(f, t, 0f), "log1p(0)");
        assertBits(-0f, one(f, t, -0f), "log1p(-0)");
        assertBits(Float.NEGATIVE_INFINITY, one(f, t, -1f), "log1p(-1)");
        assertBits(Float.NaN, one(f, t, -2f), "log1p(-2)");
        assertBits(Float.POSITIVE_INFINITY, one(f, t, Float.POSITIVE_INFINITY), "log1p(inf)");
        assertBits(Float.NaN, one(f, t, Float.NaN), "log1p(NaN)");
        assertBits(Float.MIN_VALUE, one(f, t, Float.MIN_VALUE), "log1p(MIN_VALUE)");
        assertBits(1e-30f, one(f, t, 1e-30f), "log1p(1e-30)");
        assertBits((float) Math.log1p(Float.MAX_VALUE), one(f, t, Float.MAX_VALUE), "log1p(MAX)");
    }

    @Test
    void tanhSpecialValues() {
        VectorFn f = VectorMath::tanh;
        UnaryOperator<Float> t = VectorMath::tanh;
        assertBits(0f, one(f, t, 0f), "tanh(0)");
        assertBits(-0f, one(f, t, -0f), "tanh(-0)");
        assertBits(1f, one(f, t, Float.POSITIVE_INFINITY), "tanh(inf)");
        assertBits(-1f, one(f, t, Float.NEGATIVE_INFINITY), "tanh(-inf)");
        assertBits(Float.NaN, one(f, t, Float.NaN), "tanh(NaN)");
        assertBits(1f, one(f, t, 50f), "tanh(50), where exp(100) overflows");
        assertBits(-1f, one(f, t, -Float.MAX_VALUE), "tanh(-MAX)");
        assertBits(Float.MIN_VALUE, one(f, t, Float.MIN_VALUE), "tanh(MIN_VALUE)");
        assertBits(-1e-20f, one(f, t, -1e-20f), "tanh(-1e-20)");
    }
}
