package dev.aspo.tensor.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * What the CPU kernels' Vector API loops share: the species, whether transcendental lanewise ops
 * are worth using, and the row reductions (sum, max, dot) that softmax, cross-entropy and the
 * broadcast gradients are built from.
 */
final class VectorMath {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final int L = F.length();

    /**
     * Whether to use the Vector API's EXP / LOG1P / TANH. On x86-64 HotSpot compiles them to Intel
     * SVML (libjsvml): ~0.3 ns per float against ~15 ns for scalar {@code Math.exp}, within 1 ulp.
     * Elsewhere (aarch64 on JDK 17) they fall back to a per-lane Java loop that is slower than a
     * scalar loop, so the kernels take their scalar path. {@code -Daspo.vectorMath=false|true}
     * overrides the choice.
     */
    static final boolean TRANSCENDENTALS = Boolean.parseBoolean(System.getProperty("aspo.vectorMath",
            String.valueOf(System.getProperty("os.arch", "").matches("amd64|x86_64"))));

    /** Floats summed in float lanes before the lanes are added into a double (bounds rounding error). */
    private static final int BLOCK = 64 * 16;

    private VectorMath() {}

    /** {@code sum x[off .. off+n)}: float lanes within blocks of 1024, doubles across blocks. */
    static double sum(float[] x, int off, int n) {
        double total = 0;
        int i = off, end = off + n;
        while (i <= end - L) {
            int blockEnd = Math.min(end, i + BLOCK);
            FloatVector acc = FloatVector.zero(F);
            for (; i <= blockEnd - L; i += L) acc = acc.add(FloatVector.fromArray(F, x, i));
            total += acc.reduceLanes(VectorOperators.ADD);
        }
        for (; i < end; i++) total += x[i];
        return total;
    }

    /** {@code sum a[ao+j] * b[bo+j]} for {@code j < n}, blocked like {@link #sum}. */
    static double dot(float[] a, int ao, float[] b, int bo, int n) {
        double total = 0;
        int j = 0;
        while (j <= n - L) {
            int blockEnd = Math.min(n, j + BLOCK);
            FloatVector acc = FloatVector.zero(F);
            for (; j <= blockEnd - L; j += L) {
                acc = FloatVector.fromArray(F, a, ao + j).fma(FloatVector.fromArray(F, b, bo + j), acc);
            }
            total += acc.reduceLanes(VectorOperators.ADD);
        }
        for (; j < n; j++) total += (double) a[ao + j] * b[bo + j];
        return total;
    }

    /** {@code max x[off .. off+n)}; NaN if any element is NaN; -infinity for n = 0. */
    static float max(float[] x, int off, int n) {
        float m = Float.NEGATIVE_INFINITY;
        int i = off, end = off + n;
        if (n >= L) {
            FloatVector acc = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
            for (; i <= end - L; i += L) acc = acc.max(FloatVector.fromArray(F, x, i));
            m = acc.reduceLanes(VectorOperators.MAX);
        }
        for (; i < end; i++) m = Math.max(m, x[i]);
        return m;
    }

    /** {@code y[yo+j] += alpha * x[xo+j]} for {@code j < n}. */
    static void axpy(float alpha, float[] x, int xo, float[] y, int yo, int n) {
        FloatVector av = FloatVector.broadcast(F, alpha);
        int j = 0;
        for (; j <= n - L; j += L) {
            FloatVector.fromArray(F, x, xo + j).fma(av, FloatVector.fromArray(F, y, yo + j)).intoArray(y, yo + j);
        }
        for (; j < n; j++) y[yo + j] += alpha * x[xo + j];
    }

    /** {@code y[yo+j] += a[ao+j] * b[bo+j]} for {@code j < n}. */
    static void addProduct(float[] a, int ao, float[] b, int bo, float[] y, int yo, int n) {
        int j = 0;
        for (; j <= n - L; j += L) {
            FloatVector.fromArray(F, a, ao + j).fma(FloatVector.fromArray(F, b, bo + j), FloatVector.fromArray(F, y, yo + j))
                    .intoArray(y, yo + j);
        }
        for (; j < n; j++) y[yo + j] += a[ao + j] * b[bo + j];
    }
}
