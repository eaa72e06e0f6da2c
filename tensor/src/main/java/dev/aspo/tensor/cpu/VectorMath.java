package dev.aspo.tensor.cpu;

import static jdk.incubator.vector.VectorOperators.ASHR;
import static jdk.incubator.vector.VectorOperators.EQ;
import static jdk.incubator.vector.VectorOperators.LSHL;
import static jdk.incubator.vector.VectorOperators.LT;
import static jdk.incubator.vector.VectorOperators.NE;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * What the CPU kernels' Vector API loops share: the species, the row reductions (sum, max, dot)
 * that softmax, cross-entropy and the broadcast gradients are built from, and exp / log / log1p /
 * tanh on float vectors, each with a scalar twin.
 *
 * <p>Why our own transcendentals: the Vector API's {@code lanewise(EXP)} etc. are compiled by C2
 * on x86-64 into Intel SVML stubs, but run lane by lane through {@code Math.exp} in the
 * interpreter and C1, and the two differ in the last bit. The same op on the same inputs then
 * gave different results depending on how warm the JIT was (a resumed training run, in a cold
 * JVM, did not reproduce the uninterrupted one), and off x86 they were slow scalar fallbacks.
 * The functions here use only IEEE-exact basic operations (add, sub, mul, div, fma, min/max,
 * compares and blends, integer adds/shifts and bit reinterpretation), which give the same bits in
 * every JIT tier and on every platform. Each vector function has a scalar twin (same name, float
 * argument) doing the same operations in the same order with {@code Math.fma}, so a kernel's
 * scalar tail computes bit-for-bit the function its vector lanes compute. Measured over all
 * finite floats against double references: see {@code VectorMathTest}.
 */
final class VectorMath {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final int L = F.length();

    /** Floats summed in float lanes before the lanes are added into a double (bounds rounding error). */
    private static final int BLOCK = 64 * 16;

    /**
     * Lane swaps for {@link #sumLanes}: step {@code j} pairs lane {@code i} with lane
     * {@code i ^ (L >> (j + 1))}.
     */
    private static final VectorShuffle<Float>[] HALVES = halves();

    @SuppressWarnings("unchecked")
    private static VectorShuffle<Float>[] halves() {
        int steps = Integer.numberOfTrailingZeros(L);
        VectorShuffle<Float>[] h = new VectorShuffle[steps];
        for (int j = 0; j < steps; j++) {
            int half = L >> (j + 1);
            h[j] = VectorShuffle.fromOp(F, i -> i ^ half);
        }
        return h;
    }

    /**
     * The sum of a vector's lanes, always in the same pairwise order. {@code reduceLanes(ADD)}
     * leaves the order open, and HotSpot uses different orders in compiled and interpreted code
     * (JDK 25's C2 reorders it), so a result would depend on how warm the JIT is; explicit lane
     * swaps are the same float operations in every tier.
     */
    static float sumLanes(FloatVector v) {
        for (VectorShuffle<Float> h : HALVES) v = v.add(v.rearrange(h));
        return v.lane(0);
    }

    private VectorMath() {}

    /** {@code sum x[off .. off+n)}: float lanes within blocks of 1024, doubles across blocks. */
    static double sum(float[] x, int off, int n) {
        double total = 0;
        int i = off, end = off + n;
        while (i <= end - L) {
            int blockEnd = Math.min(end, i + BLOCK);
            FloatVector acc = FloatVector.zero(F);
            for (; i <= blockEnd - L; i += L) acc = acc.add(FloatVector.fromArray(F, x, i));
            total += sumLanes(acc);
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
            total += sumLanes(acc);
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

    // ---- exp ---------------------------------------------------------------------------------
    /*
     *   x = k ln2 + r,  k = round(x log2 e),  |r| <= ln2/2       (Cody-Waite: ln2 = LN2_HI + LN2_LO)
     *   e^r ~ 1 + r + r^2/2! + ... + r^7/7!  (Horner, fma)        truncation r^8/8! < 6e-9 relative
     *   e^x = e^r * 2^k1 * 2^k2,  k1 = k >> 1, k2 = k - k1        two factors keep each 2^ki normal
     *
     * k is read from the bits of t = x log2e + 1.5*2^23 (the float add rounds to an integer, whose
     * value sits in t's low mantissa bits): no float->int conversion, whose edge cases differ
     * between JDK versions' vector intrinsics. x is clamped to [EXP_MIN, EXP_MAX] first (NaN stays
     * NaN): above ln(FLT_MAX) = 88.7228 the final multiply overflows to +inf, below -103.97
     * (ln of half the smallest subnormal) it rounds to +0, and -inf gives 0. Results between are
     * gradual-underflow subnormals, rounded once by the last multiply (no flush to zero).
     */

    private static final float EXP_MIN = -104f, EXP_MAX = 89f;
    private static final float LOG2E = (float) (1 / Math.log(2));
    private static final float LN2_HI = (float) Math.log(2), LN2_LO = (float) (Math.log(2) - LN2_HI);
    /** 1.5 * 2^23: adding it rounds a float of magnitude below 2^22 to an integer. */
    private static final float SHIFT = 0x1.8p23f;
    private static final int SHIFT_BITS = Float.floatToRawIntBits(SHIFT);
    /** 1/n! for n = 7 down to 2 (the 1 + r terms are the last two Horner steps). */
    private static final float E7 = 1f / 5040, E6 = 1f / 720, E5 = 1f / 120, E4 = 1f / 24, E3 = 1f / 6, E2 = 0.5f;

    /*
     * The constants as vectors, once: a broadcast per use costs the JIT hundreds of IR nodes while
     * it inlines, and a kernel loop that inlines tanh (which inlines exp) would otherwise hit C2's
     * node-count inlining cutoff, after which every vector is boxed (30x slower).
     */
    private static final FloatVector V_EXP_MIN = c(EXP_MIN), V_EXP_MAX = c(EXP_MAX), V_LOG2E = c(LOG2E);
    private static final FloatVector V_SHIFT = c(SHIFT), V_NEG_LN2_HI = c(-LN2_HI), V_NEG_LN2_LO = c(-LN2_LO);
    private static final FloatVector V_E7 = c(E7), V_E6 = c(E6), V_E5 = c(E5), V_E4 = c(E4), V_E3 = c(E3), V_E2 = c(E2);
    private static final FloatVector V_ONE = c(1f), V_TWO = c(2f);

    /** e^x lanewise, within 1 ulp (see the class comment for why not {@code lanewise(EXP)}). */
    static FloatVector exp(FloatVector x) {
        FloatVector xc = x.max(V_EXP_MIN).min(V_EXP_MAX);
        FloatVector t = xc.fma(V_LOG2E, V_SHIFT);
        FloatVector k = t.sub(V_SHIFT);
        FloatVector r = k.fma(V_NEG_LN2_HI, xc);
        r = k.fma(V_NEG_LN2_LO, r);
        FloatVector p = r.fma(V_E7, V_E6);
        p = p.fma(r, V_E5);
        p = p.fma(r, V_E4);
        p = p.fma(r, V_E3);
        p = p.fma(r, V_E2);
        p = p.fma(r, V_ONE);
        p = p.fma(r, V_ONE);
        IntVector ki = t.reinterpretAsInts().sub(SHIFT_BITS);
        IntVector k1 = ki.lanewise(ASHR, 1), k2 = ki.sub(k1);
        FloatVector s1 = k1.add(127).lanewise(LSHL, 23).reinterpretAsFloats();
        FloatVector s2 = k2.add(127).lanewise(LSHL, 23).reinterpretAsFloats();
        return p.mul(s1).mul(s2);
    }

    /** The scalar twin of {@link #exp(FloatVector)}: the same operations, so the same bits. */
    static float exp(float x) {
        float xc = Math.min(Math.max(x, EXP_MIN), EXP_MAX);
        float t = Math.fma(xc, LOG2E, SHIFT);
        float k = t - SHIFT;
        float r = Math.fma(k, -LN2_HI, xc);
        r = Math.fma(k, -LN2_LO, r);
        float p = Math.fma(r, E7, E6);
        p = Math.fma(p, r, E5);
        p = Math.fma(p, r, E4);
        p = Math.fma(p, r, E3);
        p = Math.fma(p, r, E2);
        p = Math.fma(p, r, 1f);
        p = Math.fma(p, r, 1f);
        int ki = Float.floatToRawIntBits(t) - SHIFT_BITS;
        int k1 = ki >> 1, k2 = ki - k1;
        return p * Float.intBitsToFloat((k1 + 127) << 23) * Float.intBitsToFloat((k2 + 127) << 23);
    }

    // ---- log ---------------------------------------------------------------------------------
    /*
     *   x = 2^k m,  m in [sqrt(1/2), sqrt 2)   (from the bits; subnormals are first scaled by 2^23)
     *   f = m - 1,  s = f / (2 + f),  z = s^2,  so that log(1 + f) = 2 atanh s = 2s + s R(z)
     *   R(z) = 2z/3 + 2z^2/5 + 2z^3/7 + 2z^4/9        |s| < 0.172: the next term is < 3e-9 relative
     *   log(1 + f) = f - f^2/2 + s (f^2/2 + R)       (an identity: f - f^2/2 + s f^2/2 = 2s)
     *   log x = k LN2_HI + (log(1 + f) + k LN2_LO)   (the last step one fma)
     * Special values: log(+-0) = -inf, log(x < 0) = NaN, log(+inf) = +inf, NaN stays NaN.
     */

    /** Bits of 0.70710677f ~ sqrt(1/2): subtracting them splits x so that m lands in [sqrt(1/2), sqrt 2). */
    private static final int SQRT_HALF_BITS = 0x3f3504f3;
    private static final float MIN_NORMAL = Float.MIN_NORMAL, TWO_23 = 0x1p23f;
    private static final float R1 = 2f / 3, R2 = 2f / 5, R3 = 2f / 7, R4 = 2f / 9;
    private static final FloatVector V_R1 = c(R1), V_R2 = c(R2), V_R3 = c(R3), V_R4 = c(R4), V_LN2_HI = c(LN2_HI);

    /** Natural logarithm lanewise, within 1 ulp. */
    static FloatVector log(FloatVector x) {
        VectorMask<Float> tiny = x.compare(LT, MIN_NORMAL);
        FloatVector xs = x.blend(x.mul(TWO_23), tiny);
        IntVector ix = xs.reinterpretAsInts().sub(SQRT_HALF_BITS);
        IntVector e = ix.lanewise(ASHR, 23);
        FloatVector m = ix.and(0x7fffff).add(SQRT_HALF_BITS).reinterpretAsFloats();
        FloatVector k = e.add(SHIFT_BITS).reinterpretAsFloats().sub(SHIFT);   // int -> float, exactly
        k = k.blend(k.sub(23f), tiny);
        FloatVector f = m.sub(1f);
        FloatVector s = f.div(f.add(2f));
        FloatVector z = s.mul(s);
        FloatVector rz = z.fma(V_R4, V_R3);
        rz = rz.fma(z, V_R2);
        rz = rz.fma(z, V_R1);
        rz = rz.mul(z);
        FloatVector hfsq = f.mul(f).mul(0.5f);
        FloatVector lo = s.fma(hfsq.add(rz), k.mul(LN2_LO)).sub(hfsq).add(f);
        FloatVector y = k.fma(V_LN2_HI, lo);
        y = y.blend(x, x.compare(EQ, Float.POSITIVE_INFINITY).or(x.compare(NE, x)));
        y = y.blend(Float.NaN, x.compare(LT, 0f));
        return y.blend(Float.NEGATIVE_INFINITY, x.compare(EQ, 0f));
    }

    /** The scalar twin of {@link #log(FloatVector)}. */
    static float log(float x) {
        boolean tiny = x < MIN_NORMAL;
        float xs = tiny ? x * TWO_23 : x;
        int ix = Float.floatToRawIntBits(xs) - SQRT_HALF_BITS;
        int e = ix >> 23;
        float m = Float.intBitsToFloat((ix & 0x7fffff) + SQRT_HALF_BITS);
        float k = Float.intBitsToFloat(e + SHIFT_BITS) - SHIFT;
        if (tiny) k = k - 23f;
        float f = m - 1f;
        float s = f / (f + 2f);
        float z = s * s;
        float rz = Math.fma(z, R4, R3);
        rz = Math.fma(rz, z, R2);
        rz = Math.fma(rz, z, R1);
        rz = rz * z;
        float hfsq = f * f * 0.5f;
        float lo = Math.fma(s, hfsq + rz, k * LN2_LO) - hfsq + f;
        float y = Math.fma(k, LN2_HI, lo);
        if (x == Float.POSITIVE_INFINITY || x != x) y = x;
        if (x < 0f) y = Float.NaN;
        if (x == 0f) y = Float.NEGATIVE_INFINITY;
        return y;
    }

    /**
     * {@code log(1 + x)} lanewise: with {@code u = 1 + x} rounded, {@code log1p x = log u + c},
     * where {@code c = (x - (u - 1)) / u} puts back what the rounding of u lost (to first order). For
     * |x| below half an ulp of 1, u = 1 and the result is x itself (keeping -0). c is 0 where u is 0
     * or infinite.
     */
    static FloatVector log1p(FloatVector x) {
        FloatVector u = x.add(1f);
        FloatVector c = x.sub(u.sub(1f)).div(u);
        c = c.blend(0f, u.compare(EQ, 0f).or(u.compare(EQ, Float.POSITIVE_INFINITY)));
        return log(u).add(c).blend(x, u.compare(EQ, 1f));
    }

    /** The scalar twin of {@link #log1p(FloatVector)}. */
    static float log1p(float x) {
        float u = x + 1f;
        float c = (x - (u - 1f)) / u;
        if (u == 0f || u == Float.POSITIVE_INFINITY) c = 0f;
        return u == 1f ? x : log(u) + c;
    }

    // ---- tanh --------------------------------------------------------------------------------
    /*
     *   |x| <  TANH_SMALL:  x (1 + z T(z)),  z = x^2,  T: Taylor series of tanh x / x - 1, 8 terms
     *   |x| >= TANH_SMALL:  sign x (1 - 2 / (e^(2|x|) + 1))    (e^(2|x|) = inf beyond 44: gives 1)
     * The exp form cancels near 0 (1 - q with q near 1), hence the series there; at TANH_SMALL
     * tanh = 0.50 so q ~ 0.5 and the subtraction is exact. NaN stays NaN, tanh(-0) = -0.
     */

    private static final float TANH_SMALL = 0.55f;
    /** Taylor coefficients of tanh x = x + sum_n T[n] x^(2n+1), n = 1..8 (2^2n (2^2n - 1) B_2n / (2n)!). */
    private static final float[] TANH = {
        (float) (-1.0 / 3), (float) (2.0 / 15), (float) (-17.0 / 315), (float) (62.0 / 2835),
        (float) (-1382.0 / 155925), (float) (21844.0 / 6081075), (float) (-929569.0 / 638512875),
        (float) (6404582.0 / 10854718875.0)};

    private static final FloatVector V_T1 = c(TANH[0]), V_T2 = c(TANH[1]), V_T3 = c(TANH[2]), V_T4 = c(TANH[3]);
    private static final FloatVector V_T5 = c(TANH[4]), V_T6 = c(TANH[5]), V_T7 = c(TANH[6]), V_T8 = c(TANH[7]);

    /** Hyperbolic tangent lanewise, within 2 ulp (1.6 measured, just above TANH_SMALL). */
    static FloatVector tanh(FloatVector x) {
        FloatVector a = x.abs();
        FloatVector q = exp(a.add(a)).add(1f);
        FloatVector big = V_ONE.sub(V_TWO.div(q));
        big = big.blend(big.neg(), x.compare(LT, 0f));
        FloatVector z = x.mul(x);
        FloatVector p = z.fma(V_T8, V_T7);
        p = p.fma(z, V_T6);
        p = p.fma(z, V_T5);
        p = p.fma(z, V_T4);
        p = p.fma(z, V_T3);
        p = p.fma(z, V_T2);
        p = p.fma(z, V_T1);
        FloatVector small = p.mul(z).fma(x, x).blend(x, z.compare(EQ, 0f));   // keeps tanh(-0) = -0
        return big.blend(small, a.compare(LT, TANH_SMALL));
    }

    /** The scalar twin of {@link #tanh(FloatVector)}. */
    static float tanh(float x) {
        float a = Math.abs(x);
        if (a < TANH_SMALL) {
            float z = x * x;
            float p = TANH[TANH.length - 1];
            for (int n = TANH.length - 2; n >= 0; n--) p = Math.fma(p, z, TANH[n]);
            return z == 0f ? x : Math.fma(p * z, x, x);
        }
        float big = 1f - 2f / (exp(a + a) + 1f);
        return x < 0f ? -big : big;
    }

    private static FloatVector c(float value) {
        return FloatVector.broadcast(F, value);
    }
}
