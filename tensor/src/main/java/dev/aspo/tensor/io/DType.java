package dev.aspo.tensor.io;

/**
 * The element types a safetensors header may name, with their size in bytes.
 *
 * <p>Declared in the order of the reference implementation's {@code Dtype} enum (at least for
 * the dtypes written here: I32 &lt; F32 &lt; I64). Its writer lays tensors out by dtype, last in that
 * order first, then by name; {@link SafeTensorsWriter} does the same, so every tensor starts at a
 * multiple of its element size and the bytes match what Python's {@code safetensors} writes for
 * the same tensors (checked by {@code PythonFixtureTest}).
 *
 * <p>All of these can be listed and described by {@link SafeTensorsFile}; which ones it converts is
 * said on {@link SafeTensorsFile#readFloat} and {@link SafeTensorsFile#readLong}. Sub-byte types
 * (F4, F6_*) are not modelled: a header naming one is rejected as an unknown dtype.
 */
public enum DType {
    BOOL(1),
    U8(1),
    I8(1),
    F8_E5M2(1),
    F8_E4M3(1),
    F8_E8M0(1),
    I16(2),
    U16(2),
    F16(2),
    BF16(2),
    I32(4),
    U32(4),
    F32(4),
    F64(8),
    I64(8),
    U64(8);

    private final int bytes;

    DType(int bytes) {
        this.bytes = bytes;
    }

    /** Size of one element in bytes. */
    public int bytes() {
        return bytes;
    }

    /** True for the dtypes {@link SafeTensorsFile#readFloat} converts to float32. */
    public boolean isReadableAsFloat() {
        return this == F32 || this == F16 || this == BF16 || this == F64;
    }

    /** True for the dtypes {@link SafeTensorsFile#readLong} converts (exactly) to int64. */
    public boolean isReadableAsLong() {
        return this == I64 || this == I32 || this == I16 || this == I8 || this == U8 || this == BOOL;
    }

    /** The dtype spelled {@code name} in a header, or null if there is none. */
    static DType parse(String name) {
        for (DType d : values()) {
            if (d.name().equals(name)) return d;
        }
        return null;
    }
}
