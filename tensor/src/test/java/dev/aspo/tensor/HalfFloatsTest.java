package dev.aspo.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Widening: every one of the 65536 bit patterns of each format against a formula evaluated in
 * double. Narrowing: against a search for the nearest value of the format (ties to the even bit
 * pattern, infinity standing one step above the largest finite value, as IEEE rounding has it), on
 * every value of the format, every midpoint between neighbours and the floats just either side of
 * it, and random float32 bit patterns.
 */
class HalfFloatsTest {

    /** binary16 from its definition: (-1)^s * 2^(e-15) * 1.m, subnormals 2^-14 * 0.m. */
    static double f16Reference(int bits) {
        int s = bits >>> 15, e = (bits >>> 10) & 31, m = bits & 1023;
        double sign = s == 1 ? -1 : 1;
        if (e == 31) return m == 0 ? sign * Double.POSITIVE_INFINITY : Double.NaN;
        if (e == 0) return sign * Math.scalb(m / 1024.0, -14);
        return sign * Math.scalb(1 + m / 1024.0, e - 15);
    }

    /** bfloat16 from its definition: (-1)^s * 2^(e-127) * 1.m (7-bit m), subnormals 2^-126 * 0.m. */
    static double bf16Reference(int bits) {
        int s = bits >>> 15, e = (bits >>> 7) & 255, m = bits & 127;
        double sign = s == 1 ? -1 : 1;
        if (e == 255) return m == 0 ? sign * Double.POSITIVE_INFINITY : Double.NaN;
        if (e == 0) return sign * Math.scalb(m / 128.0, -126);
        return sign * Math.scalb(1 + m / 128.0, e - 127);
    }

    @Test
    void f16AllBitPatterns() {
        for (int bits = 0; bits < 65536; bits++) {
            float got = HalfFloats.f16ToF32((short) bits);
            double want = f16Reference(bits);
            String what = "f16 0x" + Integer.toHexString(bits);
            if (Double.isNaN(want)) {
                // IEEE widening keeps sign and payload: the 10 payload bits land at the top of the 23
                int expectBits = ((bits & 0x8000) << 16) | 0x7F800000 | ((bits & 0x3FF) << 13);
                assertEquals(Integer.toHexString(expectBits), Integer.toHexString(Float.floatToRawIntBits(got)), what);
            } else {
                // exact, and the sign of zero too: compare bits
                assertEquals(Float.floatToRawIntBits((float) want), Float.floatToRawIntBits(got), what);
                assertEquals(want, got, 0.0, what);
            }
        }
    }

    @Test
    void bf16AllBitPatterns() {
        for (int bits = 0; bits < 65536; bits++) {
            float got = HalfFloats.bf16ToF32((short) bits);
            double want = bf16Reference(bits);
            String what = "bf16 0x" + Integer.toHexString(bits);
            if (Double.isNaN(want)) {
                assertEquals(bits << 16, Float.floatToRawIntBits(got), what);
            } else {
                assertEquals(Float.floatToRawIntBits((float) want), Float.floatToRawIntBits(got), what);
            }
        }
    }

    @Test
    void knownValues() {
        assertEquals(0x1p-24f, HalfFloats.f16ToF32((short) 0x0001));
        assertEquals(65504f, HalfFloats.f16ToF32((short) 0x7BFF));
        assertEquals(Float.NEGATIVE_INFINITY, HalfFloats.f16ToF32((short) 0xFC00));
        assertEquals(0x80000000, Float.floatToRawIntBits(HalfFloats.f16ToF32((short) 0x8000)));
        assertEquals(-2f, HalfFloats.bf16ToF32((short) 0xC000));
    }

    /** The finite non-negative values of a format in increasing order, then infinity as the next step; and their bits. */
    private static final class Ladder {
        final double[] value;
        final short[] bits;

        Ladder(boolean bf16) {
            int top = bf16 ? 0x7F80 : 0x7C00;            // infinity's bits: one past the largest finite
            value = new double[top + 1];
            bits = new short[top + 1];
            for (int b = 0; b < top; b++) {
                value[b] = bf16 ? bf16Reference(b) : f16Reference(b);
                bits[b] = (short) b;
            }
            // rounding treats infinity as the value one ulp above the largest finite one
            value[top] = bf16 ? Math.scalb(1.0, 128) : 65536.0;
            bits[top] = (short) top;
        }

        /** The nearest rung to |x| (ties to even bits), with x's sign. */
        short nearest(float x) {
            double a = Math.abs((double) x);
            short s = (short) (Float.floatToRawIntBits(x) < 0 ? 0x8000 : 0);
            if (a >= value[value.length - 1]) return (short) (s | bits[value.length - 1]);
            int i = Arrays.binarySearch(value, a);
            if (i >= 0) return (short) (s | bits[i]);
            int hi = -i - 1, lo = hi - 1;
            double dl = a - value[lo], dh = value[hi] - a;
            int pick = dl < dh ? lo : dh < dl ? hi : (bits[lo] & 1) == 0 ? lo : hi;
            return (short) (s | bits[pick]);
        }

        /** Floats to check: each value, each midpoint between neighbours and the floats either side of it. */
        float[] probes() {
            float[] out = new float[4 * value.length];
            int n = 0;
            for (int i = 0; i < value.length; i++) {
                if (i < value.length - 1 || value[i] < Float.MAX_VALUE) out[n++] = (float) value[i];
                if (i + 1 < value.length) {
                    float mid = (float) ((value[i] + value[i + 1]) / 2);
                    if (mid == (value[i] + value[i + 1]) / 2 && Float.isFinite(mid)) {
                        out[n++] = mid;
                        out[n++] = Math.nextDown(mid);
                        out[n++] = Math.nextUp(mid);
                    }
                }
            }
            return Arrays.copyOf(out, n);
        }
    }

    private static void checkNarrowing(boolean bf16) {
        Ladder ladder = new Ladder(bf16);
        String fmt = bf16 ? "bf16" : "f16";
        float[] probes = ladder.probes();
        Random rng = new Random(7);
        float[] random = new float[400_000];
        for (int i = 0; i < random.length; i++) {
            float f;
            do f = Float.intBitsToFloat(rng.nextInt()); while (Float.isNaN(f));
            // random bit patterns are mostly far out of f16's range: half of them drawn near it
            random[i] = !bf16 && i % 2 == 0 ? Math.scalb((float) rng.nextGaussian(), rng.nextInt(40) - 26) : f;
        }
        for (float[] set : new float[][] {probes, random}) {
            for (float x : set) {
                for (float v : new float[] {x, -x}) {
                    short want = ladder.nearest(v);
                    short got = bf16 ? HalfFloats.f32ToBf16(v) : HalfFloats.f32ToF16(v);
                    assertEquals(Integer.toHexString(want & 0xFFFF), Integer.toHexString(got & 0xFFFF),
                            fmt + " of " + v + " (0x" + Integer.toHexString(Float.floatToRawIntBits(v)) + ")");
                }
            }
        }
    }

    @Test
    void bf16RoundsToNearestEven() {
        checkNarrowing(true);
        assertEquals(0x3F80, HalfFloats.f32ToBf16(1f), "1 is exact");
        assertEquals(0x3F80, HalfFloats.f32ToBf16(Float.intBitsToFloat(0x3F808000)), "a tie goes to the even neighbour (down)");
        assertEquals(0x3F82, HalfFloats.f32ToBf16(Float.intBitsToFloat(0x3F818000)), "a tie goes to the even neighbour (up)");
        assertEquals(0x7F80, HalfFloats.f32ToBf16(Float.MAX_VALUE), "past the largest bf16 is infinity");
    }

    @Test
    void f16RoundsToNearestEvenWithSubnormalsAndOverflow() {
        checkNarrowing(false);
        assertEquals(0x7BFF, HalfFloats.f32ToF16(65519.99f), "just below the overflow threshold");
        assertEquals(0x7C00, HalfFloats.f32ToF16(65520f), "the tie above 65504 rounds to infinity (even)");
        assertEquals(0x0001, HalfFloats.f32ToF16(0x1.8p-25f), "the smallest subnormal");
        assertEquals(0x0000, HalfFloats.f32ToF16(0x1p-25f), "a tie with zero goes to zero");
        assertEquals(0x0400, HalfFloats.f32ToF16(0x1.ffcp-15f), "halfway from the largest subnormal to 2^-14: up, to the even normal");
    }

    @Test
    void everyHalfValueRoundTripsAndNaNsStayNaNs() {
        for (int b = 0; b < 65536; b++) {
            short h = (short) b;
            float f16 = HalfFloats.f16ToF32(h), bf16 = HalfFloats.bf16ToF32(h);
            if (Float.isNaN(f16)) {
                assertTrue(Float.isNaN(HalfFloats.f16ToF32(HalfFloats.f32ToF16(f16))), "f16 NaN 0x" + Integer.toHexString(b));
            } else {
                assertEquals(b, HalfFloats.f32ToF16(f16) & 0xFFFF, "f16 0x" + Integer.toHexString(b));
            }
            if (Float.isNaN(bf16)) {
                assertEquals(0x7FC0, HalfFloats.f32ToBf16(bf16) & 0xFFFF, "bf16 NaN 0x" + Integer.toHexString(b));
            } else {
                assertEquals(b, HalfFloats.f32ToBf16(bf16) & 0xFFFF, "bf16 0x" + Integer.toHexString(b));
            }
        }
    }
}
