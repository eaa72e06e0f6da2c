package dev.aspo.method.study;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The paired comparison against DPO, on cases whose answer is known. */
class PairedStatisticsTest {
    private static PairedStatistics.Units units(double[] num, double[] den) {
        return new PairedStatistics.Units(num, den);
    }

    /** Per-scene CHAIR-like units: mentions 1..4, hallucinations Binomial(mentions, rate). */
    private static PairedStatistics.Units random(Random rng, int scenes, double rate) {
        double[] num = new double[scenes], den = new double[scenes];
        for (int j = 0; j < scenes; j++) {
            den[j] = 1 + rng.nextInt(4);
            for (int k = 0; k < den[j]; k++) if (rng.nextDouble() < rate) num[j]++;
        }
        return units(num, den);
    }

    @Test
    void aConstantDifferenceGivesAZeroWidthIntervalAtThatValue() {
        Random rng = new Random(3);
        List<PairedStatistics.Units> dpo = new ArrayList<>(), method = new ArrayList<>();
        for (int s = 0; s < 5; s++) {
            PairedStatistics.Units b = random(rng, 40, 0.3);
            double[] num = new double[40];
            for (int j = 0; j < 40; j++) num[j] = b.num()[j] - 0.1 * b.den()[j];   // every scene's rate 0.1 lower
            dpo.add(b);
            method.add(units(num, b.den()));
        }
        PairedStatistics.Result r = new PairedStatistics(1000, 1).compare(method, dpo, true);
        assertEquals(-0.1, r.mean(), 1e-12);
        assertEquals(-0.1, r.ciLow(), 1e-12);
        assertEquals(-0.1, r.ciHigh(), 1e-12);
        assertEquals(5, r.seedsBetter());
        assertTrue(r.pValue() < 0.01, "p " + r.pValue());
    }

    @Test
    void pureNoiseGivesUniformPValues() {
        Random rng = new Random(11);
        int studies = 200, significant = 0;
        for (int k = 0; k < studies; k++) {
            List<PairedStatistics.Units> a = new ArrayList<>(), b = new ArrayList<>();
            for (int s = 0; s < 5; s++) {
                a.add(random(rng, 30, 0.3));
                b.add(random(rng, 30, 0.3));
            }
            PairedStatistics.Result r = new PairedStatistics(400, k).compare(a, b, true);
            if (r.pValue() < 0.05) significant++;
            assertTrue(r.ciLow() <= r.mean() && r.mean() <= r.ciHigh(), r.toString());
        }
        assertTrue(significant <= studies / 10, significant + " of " + studies + " null studies below p = 0.05");
        assertTrue(significant >= 1, "a test that never rejects cannot be right at the nominal 5%: " + significant);
    }

    @Test
    void aRealDifferenceIsFoundWithFiveSeeds() {
        Random rng = new Random(5);
        List<PairedStatistics.Units> a = new ArrayList<>(), b = new ArrayList<>();
        for (int s = 0; s < 5; s++) {
            a.add(random(rng, 300, 0.20));
            b.add(random(rng, 300, 0.30));
        }
        PairedStatistics.Result r = new PairedStatistics(1000, 2).compare(a, b, true);
        assertTrue(r.ciHigh() < 0 && r.pValue() < 0.01, r.toString());
        assertTrue(r.pValue() < 0.0625, "below what a Wilcoxon test over 5 seeds can reach");
    }

    @Test
    void aSeedsIntervalIsZeroForAConstantDifferenceAndHalvesWithFourTimesTheScenes() {
        Random rng = new Random(7);
        PairedStatistics.Units b = random(rng, 50, 0.3);
        double[] num = new double[50];
        for (int j = 0; j < 50; j++) num[j] = b.num()[j] - 0.1 * b.den()[j];
        PairedStatistics p = new PairedStatistics(2000, 4);
        assertEquals(0, p.seedHalfWidths(List.of(units(num, b.den())), List.of(b))[0], 1e-12);

        // independent noise: the half-width goes as 1/sqrt(scenes), about 1.96 standard errors
        double[] w = p.seedHalfWidths(List.of(random(rng, 200, 0.2), random(rng, 800, 0.2)), List.of(random(rng, 200, 0.3), random(rng, 800, 0.3)));
        assertEquals(0.5, w[1] / w[0], 0.1, "800 scenes against 200: " + w[1] + " / " + w[0]);
        double se = Math.sqrt((0.2 * 0.8 + 0.3 * 0.7) / (200 * 2.5));   // 2.5 mentions a scene
        assertEquals(1.96 * se, w[0], 0.3 * 1.96 * se);
    }

    @Test
    void mismatchedInputsAreRefused() {
        PairedStatistics p = new PairedStatistics(100, 1);
        PairedStatistics.Units u = units(new double[] {1}, new double[] {2});
        assertThrows(IllegalArgumentException.class, () -> p.compare(List.of(u), List.of(), true));
        assertThrows(IllegalArgumentException.class, () -> p.compare(List.of(u), List.of(units(new double[2], new double[2])), true));
        assertThrows(IllegalArgumentException.class, () -> new PairedStatistics(10, 1));
    }

    @Test
    void holmsAdjustmentByHand() {
        // sorted: 0.005 x 4 = 0.02; 0.01 x 3 = 0.03; 0.03 x 2 = 0.06; 0.04 x 1 = 0.04, raised to the 0.06 before it
        double[] adjusted = PairedStatistics.holm(new double[] {0.01, 0.04, 0.03, 0.005});
        assertArrayEquals(new double[] {0.03, 0.06, 0.06, 0.02}, adjusted, 1e-12);
        assertArrayEquals(new double[] {0.2}, PairedStatistics.holm(new double[] {0.2}), 0, "one test: nothing to adjust");
        assertArrayEquals(new double[] {1, 1}, PairedStatistics.holm(new double[] {0.6, 0.9}), 0, "capped at 1");
        assertEquals(0, PairedStatistics.holm(new double[0]).length);
        assertThrows(IllegalArgumentException.class, () -> PairedStatistics.holm(new double[] {0.1, Double.NaN}));
    }

    @Test
    void holmNeverLowersAPValueAndKeepsTheirOrder() {
        Random rng = new Random(11);
        for (int trial = 0; trial < 200; trial++) {
            double[] p = new double[1 + rng.nextInt(30)];
            for (int i = 0; i < p.length; i++) p[i] = rng.nextInt(4) == 0 ? 0.04 : rng.nextDouble();   // ties too
            double[] a = PairedStatistics.holm(p);
            for (int i = 0; i < p.length; i++) {
                assertTrue(a[i] >= p[i] && a[i] <= 1, "adjusted " + a[i] + " for " + p[i]);
                assertTrue(a[i] <= Math.min(1, p.length * p[i]) + 1e-15, "never above Bonferroni's");
                for (int j = 0; j < p.length; j++) if (p[i] <= p[j]) assertTrue(a[i] <= a[j], "order kept");
            }
        }
    }
}
