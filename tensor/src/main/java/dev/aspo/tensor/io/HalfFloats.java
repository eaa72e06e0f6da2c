package dev.aspo.tensor.io;

/**
 * Exact widening of the two 16-bit float formats to float32 (JDK 17 has no
 * {@code Float.float16ToFloat}). Every 16-bit value, NaN payloads included, has exactly one float32
 * with the same value, so neither conversion rounds.
 *
 * <pre>
 *   F16:   s eeeee mmmmmmmmmm          (bias 15)
 *   BF16:  s eeeeeeee mmmmmmm          (bias 127: the top half of a float32)
 *   F32:   s eeeeeeee mmmmmmmmmmmmmmmmmmmmmmm
 * </pre>
 */
public final class HalfFloats {
    private HalfFloats() {}

    /** IEEE 754 binary16 bits to float32: normals, subnormals, signed zeros, infinities, NaNs. */
    public static float f16ToF32(short h) {
        int bits = h & 0xFFFF;
        int sign = (bits & 0x8000) << 16;
        int exp = (bits >>> 10) & 0x1F;
        int mant = bits & 0x3FF;
        if (exp == 0x1F) {
            // Inf (mant == 0) or NaN: all-ones exponent; the payload moves to the top of the
            // float32 mantissa, so the quiet bit stays the quiet bit.
            return Float.intBitsToFloat(sign | 0x7F800000 | (mant << 13));
        }
        if (exp == 0) {
            if (mant == 0) return Float.intBitsToFloat(sign); // +0 / -0
            // Subnormal: mant * 2^-24. Exact in float32, which has the range to normalise it.
            float v = mant * 0x1p-24f;
            return sign != 0 ? -v : v;
        }
        // Normal: rebias the exponent (127 - 15 = 112) and widen the mantissa.
        return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
    }

    /** bfloat16 bits to float32: bfloat16 is the top 16 bits of a float32. */
    public static float bf16ToF32(short h) {
        return Float.intBitsToFloat((h & 0xFFFF) << 16);
    }
}
