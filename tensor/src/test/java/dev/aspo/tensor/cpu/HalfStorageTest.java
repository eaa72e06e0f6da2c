package dev.aspo.tensor.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.aspo.tensor.HalfFloats;
import dev.aspo.tensor.Precision;
import org.junit.jupiter.api.Test;

/**
 * {@link HalfStorage}'s widening (by whole vectors, then lane by lane) gives the bits of
 * {@link HalfFloats}' scalar conversion for every one of the 65536 patterns of each format
 * (zeros, subnormals, infinities, NaN payloads), from every offset modulo a vector.
 */
class HalfStorageTest {
    @Test
    void widenGivesTheScalarConversionOfEveryPatternFromAnyOffset() {
        short[] all = new short[65536 + 37];
        for (int i = 0; i < all.length; i++) all[i] = (short) (i * 40503);     // every pattern (40503 is odd), then some
        for (Precision p : new Precision[] {Precision.BFLOAT16, Precision.FLOAT16}) {
            HalfStorage h = HalfStorage.wrap(all, p, null);
            for (int from : new int[] {0, 1, 3, 7, 16, 37}) {
                int n = all.length - from;
                float[] dst = new float[n + 5];
                h.widen(from, dst, 5, n);
                for (int i = 0; i < n; i++) {
                    int want = Float.floatToRawIntBits(HalfFloats.widen(p, all[from + i]));
                    assertEquals(Integer.toHexString(want), Integer.toHexString(Float.floatToRawIntBits(dst[5 + i])),
                            p + " pattern 0x" + Integer.toHexString(all[from + i] & 0xFFFF) + " from offset " + from);
                    assertEquals(want, Float.floatToRawIntBits(h.get(from + i)));
                }
            }
        }
    }

    @Test
    void roundingStoresTheNearestEvenBitsAndFloat32IsNotAHalfFormat() {
        HalfStorage h = HalfStorage.round(new float[] {1f, 1.00390625f, -65520f}, Precision.FLOAT16, "w");
        assertEquals(1f, h.get(0));
        assertEquals(1.00390625f, h.get(1), "1 + 2^-8 is representable in float16");
        assertEquals(Float.NEGATIVE_INFINITY, h.get(2));
        assertEquals(2, h.firstNonFinite());
        assertThrows(IllegalArgumentException.class, () -> HalfStorage.wrap(new short[1], Precision.FLOAT32, null));
    }
}
