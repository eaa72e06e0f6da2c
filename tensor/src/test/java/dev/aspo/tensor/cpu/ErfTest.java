package dev.aspo.tensor.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigDecimal;
import java.math.MathContext;
import org.junit.jupiter.api.Test;

class ErfTest {
    /** erf(x) to 20 digits, from mpmath 1.3 at 30-digit precision. */
    private static final double[][] ERF = {
        {1e-30, 1.1283791670955125739e-30},
        {1e-8, 1.1283791670955125363e-8},
        {0.001, 0.0011283787909692363799},
        {0.1, 0.1124629160182848922},
        {0.5, 0.52049987781304653768},
        {0.9, 0.79690821242283212852},
        {1, 0.84270079294971486934},
        {1.5, 0.96610514647531072707},
        {2, 0.99532226501895273416},
        {2.5, 0.99959304798255504106},
        {3, 0.99997790950300141456},
        {3.5, 0.99999925690162765859},
        {4, 0.99999998458274209972},
        {5, 0.99999999999846254021},
        {6, 0.99999999999999997848},
    };

    /** erfc(x), same source; the tail is where a relative error shows. */
    private static final double[][] ERFC = {
        {-3, 1.9999779095030014146},
        {-1, 1.8427007929497148693},
        {0.5, 0.47950012218695346232},
        {1, 0.15729920705028513066},
        {2, 0.0046777349810472658379},
        {3, 0.000022090496998585441373},
        {5, 1.5374597944280348502e-12},
        {7, 4.1838256077794143986e-23},
        {10, 2.088487583762544757e-45},
        {15, 7.2129941724512066666e-100},
        {20, 5.3958656116079009289e-176},
        {26, 5.6631924088561428465e-296},
    };

    @Test
    void knownValues() {
        for (double[] p : ERF) {
            assertRelative("erf(" + p[0] + ")", p[1], Erf.erf(p[0]), 1e-12);
            assertRelative("erf(" + -p[0] + ")", -p[1], Erf.erf(-p[0]), 1e-12);
        }
        for (double[] p : ERFC) assertRelative("erfc(" + p[0] + ")", p[1], Erf.erfc(p[0]), 1e-12);
        for (double[] p : ERFC) {   // the scaled complement, finite where erfc underflows
            assertRelative("erfcx(" + p[0] + ")", p[1] * Math.exp(p[0] * p[0]), Erf.erfcx(p[0]), 1e-12);
        }
        assertRelative("erfcx(40)", 0.014100335983377813624, Erf.erfcx(40), 1e-12);   // mpmath, as above
    }

    @Test
    void limitsAndSpecialValues() {
        assertEquals(1.0, Erf.erf(Double.POSITIVE_INFINITY));
        assertEquals(-1.0, Erf.erf(Double.NEGATIVE_INFINITY));
        assertEquals(0.0, Erf.erfc(Double.POSITIVE_INFINITY));
        assertEquals(2.0, Erf.erfc(Double.NEGATIVE_INFINITY));
        assertEquals(0.0, Erf.erfc(40));
        assertTrue(Double.isNaN(Erf.erf(Double.NaN)) && Double.isNaN(Erf.erfc(Double.NaN)));
        assertEquals(Double.doubleToLongBits(-0.0), Double.doubleToLongBits(Erf.erf(-0.0)));
    }

    /** A dense sweep over [-5, 5] (and the interval edges) against the series in 80-digit decimals. */
    @Test
    void matchesAnExactSeriesEverywhere() {
        for (int i = -125; i <= 125; i++) {
            double x = i * 0.04 + 0.0013;
            checkAgainstSeries(x);
        }
        for (double edge : new double[] {1, 2, 3, 4}) {
            checkAgainstSeries(Math.nextDown(edge));
            checkAgainstSeries(edge);
            checkAgainstSeries(-Math.nextUp(edge));
        }
    }

    /** Beyond the series' reach: erfc against the continued fraction (exact to rounding there). */
    @Test
    void tailMatchesTheContinuedFraction() {
        for (double x = 1; x < 27; x += 0.0371) {
            double expected = Math.exp(-x * x) * Erf.erfcxContinuedFraction(x);
            assertRelative("erfc(" + x + ")", expected, Erf.erfc(x), 1e-12);
        }
    }

    private static void checkAgainstSeries(double x) {
        BigDecimal erf = seriesErf(x);
        assertRelative("erf(" + x + ")", erf.doubleValue(), Erf.erf(x), 1e-12);
        assertRelative("erfc(" + x + ")", BigDecimal.ONE.subtract(erf).doubleValue(), Erf.erfc(x), 1e-12);
    }

    private static final MathContext MC = new MathContext(80);
    private static final BigDecimal PI = new BigDecimal(
            "3.14159265358979323846264338327950288419716939937510582097494459230781640628620899");

    /** erf(x) = 2/sqrt(pi) sum_n (-1)^n x^(2n+1) / (n! (2n+1)), summed until the terms vanish. */
    private static BigDecimal seriesErf(double xd) {
        BigDecimal x = new BigDecimal(xd), x2 = x.multiply(x, MC);
        BigDecimal power = x, sum = BigDecimal.ZERO;   // power = (-1)^n x^(2n+1) / n!
        for (int n = 0; n < 2000; n++) {
            BigDecimal term = power.divide(BigDecimal.valueOf(2L * n + 1), MC);
            sum = sum.add(term, MC);
            if (n > 10 && term.abs().compareTo(new BigDecimal("1e-60")) < 0) break;
            power = power.multiply(x2, MC).divide(BigDecimal.valueOf(-(n + 1L)), MC);
        }
        return sum.multiply(BigDecimal.valueOf(2), MC).divide(PI.sqrt(MC), MC);
    }

    private static void assertRelative(String what, double expected, double actual, double tol) {
        double err = Math.abs(actual - expected) / Math.max(Math.abs(expected), Double.MIN_NORMAL);
        assertTrue(err <= tol, what + " = " + actual + ", expected " + expected + " (relative error " + err + ")");
    }
}
