package dev.aspo.tensor.cpu;

import dev.aspo.tensor.Backend;
import dev.aspo.tensor.Storage;

/** A heap float array. */
public final class CpuStorage implements Storage {
    final float[] data;

    CpuStorage(float[] data) {
        this.data = data;
    }

    /** The backing array of a CPU storage (no copy). */
    public static float[] data(Storage s) {
        if (!(s instanceof CpuStorage)) {
            if (s instanceof HalfStorage h) {
                throw new IllegalArgumentException("expected a float32 buffer, got " + (h.name() != null ? h.name() + ", " : "")
                        + "a frozen weight held in " + h.precision().torchName() + " (only matmul and row gathers read those)");
            }
            throw new IllegalArgumentException("expected a cpu buffer, got one of backend " + s.backend().name());
        }
        return ((CpuStorage) s).data;
    }

    @Override
    public int size() {
        return data.length;
    }

    @Override
    public Backend backend() {
        return CpuBackend.INSTANCE;
    }
}
