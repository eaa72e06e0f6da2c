package dev.aspo.tensor;

import static org.junit.jupiter.api.Assertions.fail;

import java.util.Arrays;
import java.util.Random;
import java.util.function.Function;

/**
 * The test every op passes: its forward equals a plain scalar reference (written in double, in
 * the test), and its backward equals the reference's central finite differences.
 *
 * <p>The loss is {@code sum(out * c)} with a fixed random cotangent {@code c}, so every output
 * element's gradient path is exercised with a distinct weight. Finite differences are taken on
 * the double-precision reference (step 1e-4 relative), which makes them exact enough to hold the
 * float32 backward to a tight tolerance: a wrong backward fails, a right one passes.
 */
public final class GradCheck {
    private GradCheck() {}

    /** A scalar reference: inputs flattened in double, output flattened. */
    @FunctionalInterface
    public interface Reference {
        double[] apply(double[][] inputs);
    }

    /** Forward tolerance (absolute + relative), and the same for gradients. */
    public static final double FWD_TOL = 1e-4, GRAD_TOL = 2e-3;

    /**
     * Checks {@code op} against {@code ref} on {@code inputs}; gradients are checked for every input
     * with {@code requiresGrad}.
     */
    public static void check(String name, Function<Tensor[], Tensor> op, Reference ref, Tensor... inputs) {
        double[][] x = new double[inputs.length][];
        for (int i = 0; i < inputs.length; i++) x[i] = toDouble(inputs[i].toFloatArray());

        Tensor out = op.apply(inputs);
        double[] expected = ref.apply(copy(x));
        assertClose(name + " forward", expected, toDouble(out.toFloatArray()), FWD_TOL);

        Random rng = new Random(1234);
        double[] cot = new double[expected.length];
        float[] cotF = new float[expected.length];
        for (int i = 0; i < cot.length; i++) {
            cotF[i] = (float) rng.nextGaussian();
            cot[i] = cotF[i];
        }
        for (Tensor t : inputs) t.zeroGrad();
        out.backward(Tensor.of(cotF, out.shape()));

        for (int i = 0; i < inputs.length; i++) {
            if (!inputs[i].requiresGrad()) continue;
            double[] numeric = new double[x[i].length];
            for (int j = 0; j < x[i].length; j++) {
                double saved = x[i][j];
                double h = 1e-4 * Math.max(1.0, Math.abs(saved));
                x[i][j] = saved + h;
                double plus = dot(ref.apply(copy(x)), cot);
                x[i][j] = saved - h;
                double minus = dot(ref.apply(copy(x)), cot);
                x[i][j] = saved;
                numeric[j] = (plus - minus) / (2 * h);
            }
            Tensor g = inputs[i].grad();
            double[] analytic = g == null ? new double[numeric.length] : toDouble(g.toFloatArray());
            assertClose(name + " gradient of input " + i, numeric, analytic, GRAD_TOL);
        }
    }

    /** Fails unless {@code |a - e| <= tol * (1 + |e|)} elementwise (scale-aware for large values). */
    public static void assertClose(String what, double[] expected, double[] actual, double tol) {
        if (expected.length != actual.length) {
            fail(what + ": length " + actual.length + ", expected " + expected.length);
        }
        double scale = 0;
        for (double e : expected) scale = Math.max(scale, Math.abs(e));
        for (int i = 0; i < expected.length; i++) {
            double e = expected[i], a = actual[i];
            double allowed = tol * (1 + Math.abs(e) + 1e-2 * scale);
            if (!(Math.abs(a - e) <= allowed)) {
                fail(what + ": element " + i + " is " + a + ", expected " + e + " (tolerance " + allowed + ")\n  expected "
                        + head(expected) + "\n  actual   " + head(actual));
            }
        }
    }

    public static void assertClose(String what, float[] expected, float[] actual, double tol) {
        assertClose(what, toDouble(expected), toDouble(actual), tol);
    }

    public static double[] toDouble(float[] v) {
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) d[i] = v[i];
        return d;
    }

    /** A leaf with N(0,1) entries that requires a gradient. */
    public static Tensor param(Random rng, int... shape) {
        return Tensor.randn(rng, 1f, shape).requiresGrad(true);
    }

    private static double[][] copy(double[][] x) {
        double[][] c = new double[x.length][];
        for (int i = 0; i < x.length; i++) c[i] = x[i].clone();
        return c;
    }

    private static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += a[i] * b[i];
        return s;
    }

    private static String head(double[] v) {
        return Arrays.toString(Arrays.copyOf(v, Math.min(v.length, 6))) + (v.length > 6 ? "..." : "");
    }
}
