package dev.aspo.tensor.io;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** Every one of the 65536 bit patterns of each format against a formula evaluated in double. */
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
}
