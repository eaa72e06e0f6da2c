package dev.aspo.tensor;

import java.util.Locale;

/**
 * The number format a tensor's storage holds. Everything is computed in {@link #FLOAT32}; a frozen
 * weight may be held in one of the 16-bit formats, half the bytes, which the ops that read weights
 * (matrix multiplies and row lookups) widen to float32 as they read it. See {@link Tensor#storeAs}.
 *
 * <pre>
 *   FLOAT32   s eeeeeeee mmmmmmmmmmmmmmmmmmmmmmm   4 bytes   activations, gradients, trainable parameters
 *   BFLOAT16  s eeeeeeee mmmmmmm                   2 bytes   float32's range, 8 significant bits
 *   FLOAT16   s eeeee mmmmmmmmmm                   2 bytes   11 significant bits, largest 65504
 * </pre>
 */
public enum Precision {
    FLOAT32(4),
    BFLOAT16(2),
    FLOAT16(2);

    private final int bytes;

    Precision(int bytes) {
        this.bytes = bytes;
    }

    /** Bytes per element. */
    public int bytes() {
        return bytes;
    }

    /** The name torch gives the dtype, and the one configs and {@code --dtype} take: float32, bfloat16, float16. */
    public String torchName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * The precision {@code name} spells (float32, bfloat16 or float16, torch's names); anything
     * else is an error naming {@code where} (an option or config key) and the accepted names.
     */
    public static Precision parse(String name, String where) {
        for (Precision p : values()) {
            if (p.torchName().equals(name)) return p;
        }
        throw new IllegalArgumentException(where + ": unknown dtype \"" + name + "\" (expected float32, bfloat16 or float16)");
    }
}
