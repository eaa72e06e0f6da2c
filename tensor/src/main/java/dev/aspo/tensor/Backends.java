package dev.aspo.tensor;

import dev.aspo.tensor.cpu.CpuBackend;

/** The backend new tensors are created on: {@code cpu} unless a caller selects another. */
public final class Backends {
    private static volatile Backend current = CpuBackend.INSTANCE;

    private Backends() {}

    public static Backend current() {
        return current;
    }

    /** Selects the backend for tensors created from now on (all threads). */
    public static void use(Backend backend) {
        current = backend;
    }

    public static Backend cpu() {
        return CpuBackend.INSTANCE;
    }
}
