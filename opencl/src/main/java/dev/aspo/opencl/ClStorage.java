package dev.aspo.opencl;

import dev.aspo.tensor.Backend;
import dev.aspo.tensor.Storage;
import java.lang.ref.Cleaner;
import org.jocl.CL;
import org.jocl.cl_mem;

/**
 * A float buffer in an OpenCL device's memory. It stays there between ops and steps; values reach
 * the host only through {@link OpenClBackend#download}. The device memory is released when the
 * storage becomes unreachable (a {@link Cleaner}: tensors have no explicit free).
 */
final class ClStorage implements Storage {
    private static final Cleaner CLEANER = Cleaner.create();

    final cl_mem mem;
    private final int size;
    private final OpenClBackend backend;

    ClStorage(OpenClBackend backend, cl_mem mem, int size, long bytes) {
        this.backend = backend;
        this.mem = mem;
        this.size = size;
        CLEANER.register(this, new Release(mem, backend.liveBytes, bytes));
    }

    @Override
    public int size() {
        return size;
    }

    @Override
    public Backend backend() {
        return backend;
    }

    /** The action holds the handle only, never the storage (else it would never become unreachable). */
    private static final class Release implements Runnable {
        private final cl_mem mem;
        private final java.util.concurrent.atomic.AtomicLong live;
        private final long bytes;

        Release(cl_mem mem, java.util.concurrent.atomic.AtomicLong live, long bytes) {
            this.mem = mem;
            this.live = live;
            this.bytes = bytes;
        }

        @Override
        public void run() {
            CL.clReleaseMemObject(mem);
            live.addAndGet(-bytes);
        }
    }
}
