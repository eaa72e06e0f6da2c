package dev.aspo.tensor;

/**
 * A flat float32 buffer owned by one {@link Backend}. Tensors are shapes over a storage; the
 * storage lives where the backend computes (the Java heap for {@code cpu}, device memory for an
 * accelerator), so values reach the host only when asked for.
 */
public interface Storage {
    /** Number of float elements. */
    int size();

    /** The backend that allocated this storage and runs kernels on it. */
    Backend backend();
}
