package dev.aspo.tensor.cpu;

/**
 * The error function and its complement in double precision (the JDK has neither), for the exact
 * GELU {@code x * Phi(x)} with {@code Phi(x) = erfc(-x / sqrt 2) / 2}. Relative error about 1e-13
 * everywhere, including erfc's tail (GELU of a large negative input is a tiny number, not 0).
 *
 * <pre>
 *   |x| &lt; 1   erf(x)  = 2/sqrt(pi) * sum_n (-1)^n x^(2n+1) / (n! (2n+1))     17 terms, tail &lt; 1e-16
 *   x  &gt;= 1   erfc(x) = exp(-x^2) * Q(x)                                    Q = exp(x^2) erfc(x)
 *   x  &gt;= 28  erfc(x) = 0                                                   below double's range
 * </pre>
 *
 * Q is smooth and slowly decaying (about {@code 1/(x sqrt pi)}), so degree-12 Chebyshev
 * interpolants on a handful of intervals hold it to ~1e-13. Their coefficients are computed once,
 * here, from Laplace's continued fraction
 * {@code Q(x) = 1/sqrt(pi) * 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + ...))))}, which, taken 300 levels
 * deep, is exact to double rounding for {@code x >= 1} (it converges slowly nearer 0, hence the series).
 */
public final class Erf {
    private static final double TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);
    private static final int SERIES_TERMS = 17;
    /** Series coefficients in {@code u = x^2}: {@code erf(x) = x * sum_n SERIES[n] u^n}. */
    private static final double[] SERIES = new double[SERIES_TERMS];
    /** Chebyshev intervals for Q; wider where Q is flatter. */
    private static final double[] EDGES = {1, 2, 3, 4, 6, 9, 13, 19, 28};
    private static final int DEGREE = 12;
    private static final double[][] CHEB = new double[EDGES.length - 1][];

    static {
        double factorial = 1;
        for (int n = 0; n < SERIES_TERMS; n++) {
            if (n > 0) factorial *= n;
            SERIES[n] = TWO_OVER_SQRT_PI * ((n & 1) == 0 ? 1 : -1) / (factorial * (2 * n + 1));
        }
        for (int k = 0; k < CHEB.length; k++) CHEB[k] = chebyshevFit(EDGES[k], EDGES[k + 1]);
    }

    private Erf() {}

    public static double erf(double x) {
        double a = Math.abs(x);
        if (a < 1) return x * series(x * x);
        return Math.copySign(1 - erfcAtLeastOne(a), x);   // NaN stays NaN
    }

    public static double erfc(double x) {
        if (x < 1 && x > -1) return 1 - erf(x);          // in [0.157, 1.843]: no cancellation
        if (x >= 1) return erfcAtLeastOne(x);
        return 2 - erfcAtLeastOne(-x);                   // x <= -1, or NaN
    }

    /** The scaled complement {@code exp(x^2) erfc(x)}: finite (about 1/(x sqrt pi)) where erfc underflows. */
    public static double erfcx(double x) {
        if (x >= EDGES[EDGES.length - 1]) return erfcxContinuedFraction(x);
        if (x >= 1) {
            int k = 0;
            while (x >= EDGES[k + 1]) k++;
            return clenshaw(CHEB[k], EDGES[k], EDGES[k + 1], x);
        }
        return Math.exp(x * x) * erfc(x);
    }

    private static double series(double u) {
        double s = 0;
        for (int n = SERIES_TERMS - 1; n >= 0; n--) s = s * u + SERIES[n];
        return s;
    }

    private static double erfcAtLeastOne(double x) {
        if (x >= EDGES[EDGES.length - 1]) return 0;
        int k = 0;
        while (x >= EDGES[k + 1]) k++;
        return Math.exp(-x * x) * clenshaw(CHEB[k], EDGES[k], EDGES[k + 1], x);
    }

    /** {@code Q(x) = exp(x^2) erfc(x)} by the continued fraction, evaluated bottom-up (x >= 1). */
    static double erfcxContinuedFraction(double x) {
        double t = x;
        for (int k = 300; k >= 1; k--) t = x + 0.5 * k / t;
        return 1 / (Math.sqrt(Math.PI) * t);
    }

    /** Coefficients of the Chebyshev interpolant of Q on [lo, hi] at the DEGREE+1 Chebyshev nodes. */
    private static double[] chebyshevFit(double lo, double hi) {
        int n = DEGREE + 1;
        double[] f = new double[n];
        for (int j = 0; j < n; j++) {
            double t = Math.cos(Math.PI * (j + 0.5) / n);
            f[j] = erfcxContinuedFraction(lo + (hi - lo) * (t + 1) / 2);
        }
        double[] c = new double[n];
        for (int k = 0; k < n; k++) {
            double s = 0;
            for (int j = 0; j < n; j++) s += f[j] * Math.cos(Math.PI * k * (j + 0.5) / n);
            c[k] = 2 * s / n;
        }
        c[0] /= 2;
        return c;
    }

    /** {@code sum_k c[k] T_k(t)} with {@code t} mapping [lo, hi] onto [-1, 1]. */
    private static double clenshaw(double[] c, double lo, double hi, double x) {
        double t = (2 * x - lo - hi) / (hi - lo);
        double b1 = 0, b2 = 0;
        for (int k = c.length - 1; k > 0; k--) {
            double b0 = 2 * t * b1 - b2 + c[k];
            b2 = b1;
            b1 = b0;
        }
        return t * b1 - b2 + c[0];
    }
}
