package dev.aspo.models.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.aspo.tensor.Precision;
import dev.aspo.tensor.cpu.HalfStorage;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * A model made in {@code Module.matricesIn(p, RandomMatrices.normal(seed, std))} holds random
 * matrices straight in 16 bits: about N(0, std^2), a function of the seed and the order they are
 * made in; vectors stay float32 as the constructors make them.
 */
class RandomMatricesTest {
    /** Two linear layers of one shape and a norm. */
    static final class Two extends Module {
        final Linear a = child("a", new Linear(1024, 512, true));
        final Linear b = child("b", new Linear(1024, 512, false));
        final RmsNorm norm = child("norm", new RmsNorm(512, 1e-6f));
    }

    private static Two make(Precision p, long seed, double std) {
        try (var s = Module.matricesIn(p, RandomMatrices.normal(seed, std))) {
            return new Two();
        }
    }

    private static short[] bits(Linear l) {
        return ((HalfStorage) l.weight.storageOfAnyPrecision()).bits();
    }

    @Test
    void matricesAreFrozenRandomSixteenBitValuesAndVectorsStayAsMade() {
        Two m = make(Precision.BFLOAT16, 1, 0.02);
        assertEquals(Precision.BFLOAT16, m.a.weight.precision());
        assertFalse(m.a.weight.requiresGrad());
        assertEquals(Precision.FLOAT32, m.a.bias.precision());
        assertArrayEquals(new float[512], m.a.bias.toFloatArray(), "biases stay zero");
        float[] ones = new float[512];
        Arrays.fill(ones, 1f);
        assertArrayEquals(ones, m.norm.weight.toFloatArray(), "norm weights stay one");
        assertEquals(512 * 1024 * 2 * 2 + 512 * 4 * 2, m.parameterBytes());
    }

    @Test
    void valuesAreAboutNormalWithTheGivenStd() {
        for (Precision p : new Precision[] {Precision.BFLOAT16, Precision.FLOAT16}) {
            float[] w = make(p, 3, 0.02).a.weight.toFloatArray();
            double sum = 0, sq = 0, max = 0;
            for (float v : w) {
                sum += v;
                sq += (double) v * v;
                max = Math.max(max, Math.abs(v));
            }
            double n = w.length, mean = sum / n, std = Math.sqrt(sq / n - mean * mean);
            // the mean of 524288 draws of std 0.02 has a standard error of 2.8e-5; the sample std 0.2 %
            assertEquals(0, mean, 1.5e-4, p + " mean");
            assertEquals(0.02, std, 0.02 * 0.01, p + " std");
            assertTrue(max <= 0.02 * 2 * Math.sqrt(3) * 1.01, p + ": the sum of four uniforms ends at 2 sqrt(3) std, got " + max);
            assertTrue(max > 0.02 * 3, p + ": tails reach past 3 std, got " + max);
        }
    }

    @Test
    void theSameSeedMakesTheSameBitsAndEveryMatrixIsItsOwnDraw() {
        Two m = make(Precision.BFLOAT16, 5, 0.02), again = make(Precision.BFLOAT16, 5, 0.02), other = make(Precision.BFLOAT16, 6, 0.02);
        assertArrayEquals(bits(m.a), bits(again.a));
        assertArrayEquals(bits(m.b), bits(again.b));
        assertFalse(Arrays.equals(bits(m.a), bits(m.b)), "two matrices of one shape differ");
        assertFalse(Arrays.equals(bits(m.a), bits(other.a)), "another seed, other values");
        // neighbouring elements are not correlated (a counter-based generator with a bad mix would show here)
        float[] w = m.a.weight.toFloatArray();
        double c = 0, v = 0;
        for (int i = 0; i + 1 < w.length; i++) {
            c += (double) w[i] * w[i + 1];
            v += (double) w[i] * w[i];
        }
        assertEquals(0, c / v, 0.01, "lag-1 correlation");
    }

    @Test
    void aPlainScopeInsideMakesZerosAndTheOuterValuesComeBack() {
        RandomMatrices values = RandomMatrices.normal(9, 0.02);
        Linear before, inner, after;
        try (var s = Module.matricesIn(Precision.BFLOAT16, values)) {
            before = new Linear(4, 4, false);
            try (var z = Module.matricesIn(Precision.BFLOAT16)) {
                inner = new Linear(4, 4, false);
            }
            after = new Linear(4, 4, false);
        }
        assertArrayEquals(new float[16], inner.weight.toFloatArray());
        assertFalse(Arrays.equals(new float[16], before.weight.toFloatArray()));
        assertFalse(Arrays.equals(new float[16], after.weight.toFloatArray()));
        assertEquals(Precision.FLOAT32, new Linear(4, 4, false).weight.precision(), "every scope closed");
    }

    @Test
    void float32ValuesAndValuesOfTheWrongSizeAreRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Module.matricesIn(Precision.FLOAT32, RandomMatrices.normal(1, 0.02)));
        assertTrue(e.getMessage().contains("16-bit"), e.getMessage());
        try (var s = Module.matricesIn(Precision.BFLOAT16, (p, shape) -> new short[3])) {
            IllegalStateException w = assertThrows(IllegalStateException.class, () -> new Linear(2, 2, false));
            assertEquals("matricesIn: 3 values made for a matrix of [2, 2]", w.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> RandomMatrices.normal(1, -1));
    }
}
