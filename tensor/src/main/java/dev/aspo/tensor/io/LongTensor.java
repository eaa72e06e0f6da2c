package dev.aspo.tensor.io;

import java.util.Arrays;

/**
 * An integer tensor on the host: a row-major {@code long[]} with a shape. This is how token ids,
 * labels and attention masks travel in and out of safetensors files; they stay on the host because
 * the kernels take index arrays from the host (see {@code Backend}).
 *
 * <p>The array is held, not copied: {@link #data()} returns it as is.
 */
public final class LongTensor {
    private final long[] data;
    private final int[] shape;

    /** Wraps {@code data} (no copy) as a tensor of {@code shape}; {@code data.length} must match. */
    public LongTensor(long[] data, int... shape) {
        long n = 1;
        for (int s : shape) {
            if (s < 0) throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
            n *= s;
        }
        if (n != data.length) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " needs " + n
                    + " values, got " + data.length);
        }
        this.data = data;
        this.shape = shape.clone();
    }

    /** The values, row-major (the backing array, not a copy). */
    public long[] data() {
        return data;
    }

    public int[] shape() {
        return shape.clone();
    }

    public int rank() {
        return shape.length;
    }

    public int numel() {
        return data.length;
    }

    /**
     * The values narrowed to {@code int} (a copy), for index kernels; a value outside the int range
     * is an error rather than a silent wrap.
     */
    public int[] toIntArray() {
        int[] out = new int[data.length];
        for (int i = 0; i < data.length; i++) {
            long v = data[i];
            if (v != (int) v) {
                throw new ArithmeticException("value " + v + " at flat index " + i + " of a tensor with shape "
                        + Arrays.toString(shape) + " does not fit in an int");
            }
            out[i] = (int) v;
        }
        return out;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof LongTensor && Arrays.equals(shape, ((LongTensor) o).shape)
                && Arrays.equals(data, ((LongTensor) o).data);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(shape) + Arrays.hashCode(data);
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("LongTensor").append(Arrays.toString(shape)).append(" [");
        for (int i = 0; i < Math.min(data.length, 8); i++) sb.append(i == 0 ? "" : ", ").append(data[i]);
        if (data.length > 8) sb.append(", ...");
        return sb.append(']').toString();
    }
}
