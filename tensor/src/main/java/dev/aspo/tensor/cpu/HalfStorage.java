package dev.aspo.tensor.cpu;

import dev.aspo.tensor.Backend;
import dev.aspo.tensor.HalfFloats;
import dev.aspo.tensor.Precision;
import dev.aspo.tensor.Storage;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * A frozen weight held in 16 bits on the heap: bfloat16 or float16 bit patterns in a
 * {@code short[]}, half the bytes of float32. It is never written after it is made (a weight that
 * trains stays float32), so tensors may share one freely. The cpu backend's matrix multiply widens
 * it while it packs its panels and its row gather (embeddings) while it copies the rows; every other
 * kernel takes float32 only and refuses it.
 *
 * <p>It carries the name of the weight it holds, when it has one, for error messages.
 */
public final class HalfStorage implements Storage {
    /** Float lanes, and the int and short vectors of as many lanes (bfloat16 widens lane for lane). */
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(F.length() * Short.SIZE));

    private final short[] bits;
    private final Precision precision;
    private final String name;

    private HalfStorage(short[] bits, Precision precision, String name) {
        if (precision == Precision.FLOAT32) throw new IllegalArgumentException("a HalfStorage holds bfloat16 or float16, not float32");
        this.bits = bits;
        this.precision = precision;
        this.name = name;
    }

    /** {@code values} rounded to {@code precision} (nearest even), under {@code name} (may be null). */
    public static HalfStorage round(float[] values, Precision precision, String name) {
        short[] b = new short[values.length];
        if (precision == Precision.BFLOAT16) {
            for (int i = 0; i < b.length; i++) b[i] = HalfFloats.f32ToBf16(values[i]);
        } else {
            for (int i = 0; i < b.length; i++) b[i] = HalfFloats.f32ToF16(values[i]);
        }
        return new HalfStorage(b, precision, name);
    }

    /** A storage over {@code bits} (not copied: the caller hands them over and writes them no more). */
    public static HalfStorage wrap(short[] bits, Precision precision, String name) {
        return new HalfStorage(bits, precision, name);
    }

    /** The same bits under another name (no copy). */
    public HalfStorage named(String newName) {
        return new HalfStorage(bits, precision, newName);
    }

    /** The weight's name, or null. */
    public String name() {
        return name;
    }

    @Override
    public int size() {
        return bits.length;
    }

    @Override
    public Precision precision() {
        return precision;
    }

    @Override
    public Backend backend() {
        return CpuBackend.INSTANCE;
    }

    /** Element {@code i} as float32 (exact). */
    public float get(int i) {
        short h = bits[i];
        return precision == Precision.BFLOAT16 ? HalfFloats.bf16ToF32(h) : HalfFloats.f16ToF32(h);
    }

    /** {@code dst[at .. at+n) = } elements {@code [from, from+n)} as float32 (exact). */
    public void widen(int from, float[] dst, int at, int n) {
        if (precision == Precision.BFLOAT16) {
            // a vector of shorts sign-extended to ints, shifted into the top half: the float32 bits
            int i = 0;
            for (int end = S.loopBound(n); i < end; i += S.length()) {
                ((IntVector) ShortVector.fromArray(S, bits, from + i).convertShape(VectorOperators.S2I, I, 0))
                        .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().intoArray(dst, at + i);
            }
            for (; i < n; i++) dst[at + i] = Float.intBitsToFloat(bits[from + i] << 16);
        } else {
            // HalfFloats.f16ToF32 lane by lane, its branches as masks: normals (and infinities and
            // NaNs, exponent 31) move the exponent and mantissa up 13 bits and rebias; subnormals
            // and zeros are m * 2^-24, exact in float32; the sign goes on top of either.
            int i = 0;
            for (int end = S.loopBound(n); i < end; i += S.length()) {
                IntVector h = (IntVector) ShortVector.fromArray(S, bits, from + i).convertShape(VectorOperators.S2I, I, 0);
                IntVector abs = h.and(0x7FFF);
                IntVector normal = abs.lanewise(VectorOperators.LSHL, 13).add(112 << 23);
                normal = normal.add(112 << 23, abs.compare(VectorOperators.GE, 0x7C00));    // exponent 31 -> 255
                IntVector subnormal = ((FloatVector) abs.convert(VectorOperators.I2F, 0)).mul(0x1p-24f).reinterpretAsInts();
                normal.blend(subnormal, abs.compare(VectorOperators.LT, 0x0400))
                        .or(h.and(0x8000).lanewise(VectorOperators.LSHL, 16))
                        .reinterpretAsFloats().intoArray(dst, at + i);
            }
            for (; i < n; i++) dst[at + i] = HalfFloats.f16ToF32(bits[from + i]);
        }
    }

    /** A copy of the bit patterns. */
    public short[] bits() {
        return bits.clone();
    }

    /** The index of the first infinity or NaN, or -1 when every element is finite. */
    public int firstNonFinite() {
        int mask = precision == Precision.BFLOAT16 ? 0x7F80 : 0x7C00;
        for (int i = 0; i < bits.length; i++) {
            if ((bits[i] & mask) == mask) return i;
        }
        return -1;
    }
}
