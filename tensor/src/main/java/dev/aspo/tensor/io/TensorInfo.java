package dev.aspo.tensor.io;

import java.util.Arrays;

/**
 * What a safetensors header says about one tensor: its dtype, shape and where its bytes lie,
 * as {@code [begin, end)} relative to the start of the data section (after the header).
 */
public final class TensorInfo {
    private final String name;
    private final DType dtype;
    private final int[] shape;
    private final long numel;
    private final long begin;
    private final long end;

    TensorInfo(String name, DType dtype, int[] shape, long numel, long begin, long end) {
        this.name = name;
        this.dtype = dtype;
        this.shape = shape;
        this.numel = numel;
        this.begin = begin;
        this.end = end;
    }

    public String name() {
        return name;
    }

    public DType dtype() {
        return dtype;
    }

    /** The shape (a copy); {@code []} for a 0-d scalar. */
    public int[] shape() {
        return shape.clone();
    }

    /** Number of elements: the product of the shape (1 for a scalar, 0 for an empty tensor). */
    public long numel() {
        return numel;
    }

    /** First byte of the tensor, relative to the data section. */
    public long begin() {
        return begin;
    }

    /** One past the last byte of the tensor, relative to the data section. */
    public long end() {
        return end;
    }

    public long byteLength() {
        return end - begin;
    }

    @Override
    public String toString() {
        return name + " " + dtype + Arrays.toString(shape) + " @[" + begin + ", " + end + ")";
    }
}
