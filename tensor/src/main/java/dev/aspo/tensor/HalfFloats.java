package dev.aspo.tensor;

/**
 * The two 16-bit float formats and float32: exact widening (JDK 17 has no
 * {@code Float.float16ToFloat}; every 16-bit value, NaN payloads included, has exactly one float32
 * with the same value, so widening never rounds), and narrowing rounded to nearest, ties to even,
 * as torch's {@code tensor.to(torch.bfloat16)} and {@code .to(torch.float16)} round.
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

    /**
     * float32 to bfloat16 bits, rounded to nearest even (torch's {@code c10::BFloat16}): the top
     * half of the float32 after adding half an ulp of bfloat16 (less one when the kept half is
     * even), so a tie rounds to the even neighbour and the largest finite values round up to
     * infinity. A NaN becomes torch's quiet NaN {@code 0x7FC0}.
     */
    public static short f32ToBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if ((bits & 0x7FFFFFFF) > 0x7F800000) return (short) 0x7FC0;
        return (short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16);
    }

    /**
     * float32 to IEEE binary16 bits, rounded to nearest even: overflow (from 65520 up) gives
     * infinity, magnitudes below 2^-14 become subnormals (multiples of 2^-24), below 2^-25 zero.
     * A NaN stays a NaN, quiet, with the sign and the top 9 bits of its payload.
     */
    public static short f32ToF16(float f) {
        int bits = Float.floatToRawIntBits(f);
        int sign = (bits >>> 16) & 0x8000, abs = bits & 0x7FFFFFFF;
        if (abs > 0x7F800000) return (short) (sign | 0x7E00 | ((abs >>> 13) & 0x3FF));
        if (abs >= 0x47800000) return (short) (sign | 0x7C00);          // >= 2^16: beyond 65504 however it rounds
        if (abs < 0x38800000) {
            // Subnormal (or zero): |f| * 2^24 is exact (a power-of-two scaling of a float in range),
            // and rint rounds it to the nearest even integer, the count of 2^-24 steps; 1024 is
            // correctly the smallest normal, 0x0400.
            return (short) (sign | (int) Math.rint(Float.intBitsToFloat(abs) * 0x1p24f));
        }
        // Normal: rebias the exponent (127 - 15 = 112), keep 10 of the 23 mantissa bits and round
        // on the 13 dropped; a carry out of the mantissa steps the exponent (65520 up gives 0x7C00).
        int h = ((abs >>> 23) - 112) << 10 | (abs >>> 13) & 0x3FF;
        int rest = abs & 0x1FFF;
        if (rest > 0x1000 || rest == 0x1000 && (h & 1) != 0) h++;
        return (short) (sign | h);
    }

    /** {@code bits} of {@code precision} ({@link Precision#BFLOAT16} or {@link Precision#FLOAT16}) as float32. */
    public static float widen(Precision precision, short bits) {
        return precision == Precision.BFLOAT16 ? bf16ToF32(bits) : f16ToF32(bits);
    }

    /** {@code f} rounded to {@code precision} ({@link Precision#BFLOAT16} or {@link Precision#FLOAT16}), as its bits. */
    public static short narrow(Precision precision, float f) {
        return precision == Precision.BFLOAT16 ? f32ToBf16(f) : f32ToF16(f);
    }
}
