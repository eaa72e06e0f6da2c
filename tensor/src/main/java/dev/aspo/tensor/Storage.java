package dev.aspo.tensor;

/**
 * A flat float32 buffer owned by one {@link Backend}. Tensors are shapes over a storage; the
 * storage lives where the backend computes (the Java heap for {@code cpu}, device memory for an
 * accelerator), so values reach the host only when asked for.
 *
 * <p>The one exception is a frozen weight held in 16 bits ({@link #precision()} not float32, see
 * {@link Tensor#storeAs}): kernels compute on float32 buffers only, and only the matrix multiply
 * and the row gather of the cpu backend read such a storage, widening it as they go.
 */
public interface Storage {
    /** Number of elements. */
    int size();

    /** The format of the elements: float32 for every buffer a kernel computes on. */
    default Precision precision() {
        return Precision.FLOAT32;
    }

    /** The backend that allocated this storage and runs kernels on it. */
    Backend backend();
}
